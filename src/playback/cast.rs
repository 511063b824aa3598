//! asciicast v2 recordings of a playback (`--cast FILE`), for asciinema
//! players: a JSON header line, then one `[time, "o", text]` line per frame.
//! See <https://docs.asciinema.org/manual/asciicast/v2/>.

use std::fmt::Write as _;

use super::render::Canvas;

/// The whole recording: `canvases` in play order, `1/fps` seconds apart.
pub fn asciicast(canvases: &[Canvas], fps: f64, title: &str, timestamp: u64) -> String {
    let width = canvases.iter().map(Canvas::width).max().unwrap_or(0).max(20);
    let height = canvases.iter().map(Canvas::height).max().unwrap_or(0) + 1;
    let mut out = format!(
        "{{\"version\": 2, \"width\": {width}, \"height\": {height}, \"timestamp\": {timestamp}, \"title\": {}}}\n",
        json_string(title)
    );
    for (i, canvas) in canvases.iter().enumerate() {
        // Each frame redraws the screen from its top left corner.
        let text = format!("\x1b[H\x1b[2J{}", canvas.ansi());
        let _ = writeln!(out, "[{:.3}, \"o\", {}]", i as f64 / fps, json_string(&text));
    }
    out
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_controls_and_quotes() {
        assert_eq!(json_string("a\"b\\c\x1b[H\r\n"), r#""a\"b\\c\u001b[H\r\n""#);
        assert_eq!(json_string("█"), "\"█\"");
    }

    #[test]
    fn one_header_then_one_event_per_frame() {
        let mut a = Canvas::default();
        a.lines.push(Vec::new());
        let cast = asciicast(&[a.clone(), a], 4.0, "t", 7);
        let lines: Vec<&str> = cast.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            r#"{"version": 2, "width": 20, "height": 2, "timestamp": 7, "title": "t"}"#
        );
        assert!(lines[2].starts_with("[0.250, \"o\", \"\\u001b[H"), "{}", lines[2]);
    }
}
