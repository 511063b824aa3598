//! Drawing frames: each frame becomes a [`Canvas`] of character cells, some
//! colored, which the terminal player, the asciicast writer and the GIF
//! writer all draw from, so the three always agree.
//!
//! A frame is drawn from the frames before it as well (a sparkline is a
//! number's history, bars mark what changed since the previous frame), and
//! always from the frames in *recording* order, never play order: a frame
//! looks the same whether it is reached playing forward or backward.

use super::model::{Frame, Sample, Show, Style};

/// Colors, as ANSI color numbers (the GIF writer has the same palette).
pub const RED: u8 = 1;
pub const GREEN: u8 = 2;
pub const YELLOW: u8 = 3;
pub const BLUE: u8 = 4;
pub const MAGENTA: u8 = 5;
pub const CYAN: u8 = 6;
pub const GREY: u8 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    pub ch: char,
    pub color: Option<u8>,
}

impl Cell {
    fn plain(ch: char) -> Cell {
        Cell { ch, color: None }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Canvas {
    pub lines: Vec<Vec<Cell>>,
}

impl Canvas {
    fn text(&mut self, s: &str) {
        self.lines.push(s.chars().map(Cell::plain).collect());
    }

    pub fn width(&self) -> usize {
        self.lines.iter().map(Vec::len).max().unwrap_or(0)
    }

    pub fn height(&self) -> usize {
        self.lines.len()
    }

    /// The characters only, one line per row, trailing blanks cut.
    pub fn plain(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let s: String = line.iter().map(|c| c.ch).collect();
            out.push_str(s.trim_end());
            out.push('\n');
        }
        out
    }

    /// With ANSI colors and `\r\n` line ends, for a terminal in raw mode
    /// and for asciicast players.
    pub fn ansi(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let mut current = None;
            for cell in line {
                if cell.color != current {
                    match cell.color {
                        Some(c) if c >= 8 => out.push_str(&format!("\x1b[0;{}m", 90 + c - 8)),
                        Some(c) => out.push_str(&format!("\x1b[0;{}m", 30 + c)),
                        None => out.push_str("\x1b[0m"),
                    }
                    current = cell.color;
                }
                out.push(cell.ch);
            }
            if current.is_some() {
                out.push_str("\x1b[0m");
            }
            out.push_str("\x1b[K\r\n");
        }
        out
    }
}

/// Levels of a sparkline or a bar's top, lowest first.
const EIGHTHS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// How many values of a number's history a sparkline shows.
const SPARK_WIDTH: usize = 64;
/// The height of bars.
const BAR_ROWS: usize = 10;
/// Longer hex dumps are cut, with a note.
const HEX_ROWS: usize = 32;

/// Draws frame `i` of `frames` (recording order).
pub fn render(frames: &[Frame], i: usize, shows: &[Show]) -> Canvas {
    let frame = &frames[i];
    let mut canvas = Canvas::default();
    canvas.text(&frame.heading(i + 1));
    for (k, show) in shows.iter().enumerate() {
        let column = Column { frames, k };
        draw_show(&mut canvas, show, &column, i);
    }
    canvas
}

/// One show's samples across all the frames.
struct Column<'a> {
    frames: &'a [Frame],
    k: usize,
}

impl Column<'_> {
    fn at(&self, i: usize) -> &Sample {
        &self.frames[i].samples[self.k]
    }

    /// The smallest and largest number this show ever has, so that a
    /// picture's scale does not change from frame to frame.
    fn range(&self) -> (f64, f64) {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for i in 0..self.frames.len() {
            let values: Vec<f64> = match self.at(i) {
                Sample::Number { value, .. } => vec![*value],
                Sample::Row { values, .. } => values.clone(),
                Sample::Grid { rows, .. } => rows.concat(),
                Sample::Bytes { bytes, .. } => bytes.iter().map(|&b| f64::from(b)).collect(),
                Sample::Text(_) | Sample::Unavailable(_) => Vec::new(),
            };
            for v in values.into_iter().filter(|v| v.is_finite()) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if lo > hi {
            (0.0, 0.0)
        } else {
            (lo, hi)
        }
    }
}

fn draw_show(canvas: &mut Canvas, show: &Show, column: &Column, i: usize) {
    let label = &show.label;
    let sample = column.at(i);
    match (show.style, sample) {
        (_, Sample::Unavailable(why)) => canvas.text(&format!("{label}: <{why}>")),
        (Style::Grid | Style::Auto, Sample::Grid { rows, .. }) => {
            canvas.text(&format!("{label}:"));
            draw_grid(canvas, rows);
        }
        (Style::Grid, Sample::Bytes { bytes, width, .. }) => {
            canvas.text(&format!("{label}:"));
            let rows: Vec<Vec<f64>> = bytes
                .chunks(*width)
                .map(|r| r.iter().map(|&b| f64::from(b)).collect())
                .collect();
            draw_grid(canvas, &rows);
        }
        (Style::Grid, Sample::Row { values, .. }) => {
            canvas.text(&format!("{label}:"));
            draw_grid(canvas, std::slice::from_ref(values));
        }
        (Style::Bars, Sample::Row { text, values }) => {
            canvas.text(&format!("{label} = {text}"));
            let before = match i.checked_sub(1).map(|p| column.at(p)) {
                Some(Sample::Row { values, .. }) => Some(values.as_slice()),
                _ => None,
            };
            draw_bars(canvas, values, before, column.range());
        }
        (Style::Spark, Sample::Number { text, .. }) => {
            let first = (i + 1).saturating_sub(SPARK_WIDTH);
            let history: Vec<f64> = (first..=i).filter_map(|j| column.at(j).number()).collect();
            let line = sparkline(&history, column.range());
            let mut cells: Vec<Cell> = format!("{label}: ").chars().map(Cell::plain).collect();
            cells.extend(line.chars().map(|ch| Cell { ch, color: Some(CYAN) }));
            cells.extend(format!("  {text}").chars().map(Cell::plain));
            canvas.lines.push(cells);
        }
        (Style::Spark, Sample::Row { text, values }) => {
            let mut cells: Vec<Cell> = format!("{label}: ").chars().map(Cell::plain).collect();
            let line = sparkline(values, column.range());
            cells.extend(line.chars().map(|ch| Cell { ch, color: Some(CYAN) }));
            canvas.lines.push(cells);
            canvas.text(&format!("  = {text}"));
        }
        (_, Sample::Bytes { addr, bytes, width }) => {
            canvas.text(&format!("{label}:"));
            draw_hex(canvas, *addr, bytes, (*width).min(32));
        }
        (
            _,
            Sample::Text(text) | Sample::Number { text, .. } | Sample::Row { text, .. } | Sample::Grid { text, .. },
        ) => canvas.text(&format!("{label} = {text}")),
    }
}

/// Zero is an empty cell; any other value a colored block, two characters
/// wide so that cells come out about square.
fn draw_grid(canvas: &mut Canvas, rows: &[Vec<f64>]) {
    for row in rows {
        let mut line = vec![Cell::plain(' '), Cell::plain(' ')];
        for &v in row {
            if v == 0.0 {
                line.push(Cell {
                    ch: '·',
                    color: Some(GREY),
                });
                line.push(Cell::plain(' '));
            } else {
                let color = cell_color(v);
                line.push(Cell {
                    ch: '█',
                    color: Some(color),
                });
                line.push(Cell {
                    ch: '█',
                    color: Some(color),
                });
            }
        }
        canvas.lines.push(line);
    }
}

/// The same value always gets the same color.
fn cell_color(v: f64) -> u8 {
    const COLORS: [u8; 6] = [GREEN, YELLOW, CYAN, MAGENTA, BLUE, RED];
    let n = (v.abs().round() as i64).max(1) - 1;
    COLORS[(n % COLORS.len() as i64) as usize]
}

/// Vertical bars, one per element, scaled to `range`; elements that
/// changed since the previous frame stand out.
fn draw_bars(canvas: &mut Canvas, values: &[f64], before: Option<&[f64]>, range: (f64, f64)) {
    let top = range.1.max(0.0);
    if top <= 0.0 {
        canvas.text("  (no positive values to draw)");
        return;
    }
    let eighths = |v: f64| ((v.max(0.0) / top) * (BAR_ROWS * 8) as f64).round() as usize;
    for row in (0..BAR_ROWS).rev() {
        let mut line = vec![Cell::plain(' '), Cell::plain(' ')];
        for (j, &v) in values.iter().enumerate() {
            let changed = before.is_some_and(|b| b.get(j) != Some(&v));
            let color = Some(if changed { YELLOW } else { CYAN });
            let filled = eighths(v);
            let ch = if filled >= (row + 1) * 8 {
                '█'
            } else if filled > row * 8 {
                EIGHTHS[filled - row * 8 - 1]
            } else {
                ' '
            };
            line.push(Cell { ch, color });
            line.push(Cell::plain(' '));
        }
        canvas.lines.push(line);
    }
}

fn sparkline(values: &[f64], (lo, hi): (f64, f64)) -> String {
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                return ' ';
            }
            let level = if hi > lo {
                (((v - lo) / (hi - lo)) * 7.0).round() as usize
            } else {
                3
            };
            EIGHTHS[level.min(7)]
        })
        .collect()
}

fn draw_hex(canvas: &mut Canvas, addr: u64, bytes: &[u8], width: usize) {
    let rows: Vec<&[u8]> = bytes.chunks(width.max(1)).collect();
    for (r, row) in rows.iter().enumerate().take(HEX_ROWS) {
        let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = row
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        canvas.text(&format!(
            "  {:#014x}  {:<w$}  |{ascii}|",
            addr + (r * width) as u64,
            hex.join(" "),
            w = width * 3 - 1
        ));
    }
    if rows.len() > HEX_ROWS {
        canvas.text(&format!("  ... {} more bytes", bytes.len() - HEX_ROWS * width));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playback::model::Subject;
    use recorder::timeline::{Point, Position};
    use recorder::EventIdx;

    fn frame(event: u64, samples: Vec<Sample>) -> Frame {
        Frame {
            position: Position {
                event: EventIdx(event),
                point: Point::Start { steps: 0 },
            },
            event: EventIdx(event),
            location: "t.c:3".into(),
            samples,
        }
    }

    fn show(style: Style) -> Show {
        Show {
            label: "x".into(),
            subject: Subject::Expr("x".into()),
            style,
        }
    }

    fn number(v: f64) -> Sample {
        Sample::Number {
            text: format!("{v}"),
            value: v,
        }
    }

    #[test]
    fn a_grid_is_a_picture_of_its_cells() {
        let frames = [frame(
            7,
            vec![Sample::Grid {
                text: String::new(),
                rows: vec![vec![0.0, 1.0], vec![1.0, 0.0]],
            }],
        )];
        let text = render(&frames, 0, &[show(Style::Auto)]).plain();
        assert_eq!(text, "frame 1  event 7  t.c:3\nx:\n  · ██\n  ██·\n");
    }

    #[test]
    fn a_sparkline_is_the_history_up_to_the_frame_whatever_the_play_order() {
        let frames: Vec<Frame> = [1.0, 5.0, 3.0, 8.0]
            .iter()
            .map(|&v| frame(1, vec![number(v)]))
            .collect();
        let shows = [show(Style::Spark)];
        assert_eq!(render(&frames, 2, &shows).plain().lines().nth(1), Some("x: ▁▅▃  3"));
        assert_eq!(render(&frames, 3, &shows).plain().lines().nth(1), Some("x: ▁▅▃█  8"));
    }

    #[test]
    fn bars_scale_to_the_largest_value_ever_shown() {
        let row = |v: &[f64]| Sample::Row {
            text: format!("{v:?}"),
            values: v.to_vec(),
        };
        let frames = [frame(1, vec![row(&[10.0, 5.0])]), frame(2, vec![row(&[5.0, 10.0])])];
        let canvas = render(&frames, 1, &[show(Style::Bars)]);
        let text = canvas.plain();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "    █", "only the second bar reaches the top:\n{text}");
        assert_eq!(lines[11], "  █ █");
        // Both elements changed since the frame before.
        assert_eq!(canvas.lines[11][2].color, Some(YELLOW));
    }

    #[test]
    fn hex_dumps_show_bytes_and_ascii() {
        let frames = [frame(
            1,
            vec![Sample::Bytes {
                addr: 0x4010,
                bytes: b"hi\0".to_vec(),
                width: 16,
            }],
        )];
        let text = render(&frames, 0, &[show(Style::Hex)]).plain();
        assert!(text.contains("0x000000004010  68 69 00"), "{text}");
        assert!(text.ends_with("|hi.|\n"), "{text}");
    }

    #[test]
    fn ansi_output_colors_cells() {
        let mut canvas = Canvas::default();
        canvas.lines.push(vec![
            Cell {
                ch: '█',
                color: Some(GREEN),
            },
            Cell::plain('a'),
        ]);
        assert_eq!(canvas.ansi(), "\x1b[0;32m█\x1b[0ma\x1b[K\r\n");
    }
}
