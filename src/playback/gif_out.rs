//! Animated GIFs of a playback (`--gif FILE`): each canvas cell becomes a
//! small block of pixels, with text drawn in a built-in 3x5 font (doubled)
//! and block characters as colored rectangles.

use std::borrow::Cow;
use std::io::Write;

use anyhow::{Context, Result};

use super::render::{Canvas, Cell};

/// Pixels per character cell.
const CELL_W: usize = 7;
const CELL_H: usize = 12;
/// Font pixels are doubled.
const SCALE: usize = 2;

const BACKGROUND: u8 = 0;
const FOREGROUND: u8 = 7;

/// Index = ANSI color number; the rest of the 16 entries are unused.
const PALETTE: [[u8; 3]; 16] = [
    [0x1d, 0x1f, 0x21], // background
    [0xe0, 0x4c, 0x4c], // red
    [0x5f, 0xd0, 0x5f], // green
    [0xf0, 0xc6, 0x4a], // yellow
    [0x4f, 0x8f, 0xe8], // blue
    [0xc8, 0x6f, 0xd8], // magenta
    [0x4f, 0xd0, 0xd0], // cyan
    [0xd8, 0xd8, 0xd8], // text
    [0x5a, 0x5a, 0x5a], // grey
    [0; 3],
    [0; 3],
    [0; 3],
    [0; 3],
    [0; 3],
    [0; 3],
    [0; 3],
];

/// Writes `canvases` (play order) as an endless animation.
pub fn write_gif(out: impl Write, canvases: &[Canvas], fps: f64) -> Result<()> {
    let cols = canvases.iter().map(Canvas::width).max().unwrap_or(0).max(1);
    let rows = canvases.iter().map(Canvas::height).max().unwrap_or(0).max(1);
    let (w, h) = (cols * CELL_W, rows * CELL_H);
    let (w16, h16) = match (u16::try_from(w), u16::try_from(h)) {
        (Ok(a), Ok(b)) => (a, b),
        _ => anyhow::bail!("the frames are too large for a GIF ({cols}x{rows} characters)"),
    };
    let palette: Vec<u8> = PALETTE.iter().flatten().copied().collect();
    let mut encoder = gif::Encoder::new(out, w16, h16, &palette).context("cannot start the GIF")?;
    encoder
        .set_repeat(gif::Repeat::Infinite)
        .context("cannot write the GIF")?;
    // GIF delays are in hundredths of a second.
    let delay = (100.0 / fps).round().clamp(2.0, 6000.0) as u16;
    for canvas in canvases {
        let mut frame = gif::Frame {
            width: w16,
            height: h16,
            delay,
            buffer: Cow::Owned(rasterize(canvas, w, h)),
            ..gif::Frame::default()
        };
        frame.dispose = gif::DisposalMethod::Any;
        encoder.write_frame(&frame).context("cannot write the GIF")?;
    }
    Ok(())
}

/// Palette indices, row by row.
fn rasterize(canvas: &Canvas, w: usize, h: usize) -> Vec<u8> {
    let mut pixels = vec![BACKGROUND; w * h];
    for (row, line) in canvas.lines.iter().enumerate() {
        for (col, cell) in line.iter().enumerate() {
            draw_cell(&mut pixels, w, col * CELL_W, row * CELL_H, cell);
        }
    }
    pixels
}

fn draw_cell(pixels: &mut [u8], w: usize, x0: usize, y0: usize, cell: &Cell) {
    let color = cell.color.unwrap_or(FOREGROUND);
    let mut fill = |x: usize, y: usize, cw: usize, ch: usize| {
        for y in y0 + y..y0 + y + ch {
            pixels[y * w + x0 + x..y * w + x0 + x + cw].fill(color);
        }
    };
    // Block characters fill their share of the cell from the bottom.
    if let Some(eighths) = block_height(cell.ch) {
        let ch = CELL_H * eighths / 8;
        fill(0, CELL_H - ch, CELL_W, ch);
        return;
    }
    let Some(rows) = glyph(cell.ch) else { return };
    for (gy, bits) in rows.iter().enumerate() {
        for gx in 0..3 {
            if bits & (0b100 >> gx) != 0 {
                fill(SCALE * gx, 1 + SCALE * gy, SCALE, SCALE);
            }
        }
    }
}

fn block_height(ch: char) -> Option<usize> {
    match ch {
        '▁'..='█' => Some(ch as usize - '▁' as usize + 1),
        _ => None,
    }
}

/// The 3x5 font: five rows of three bits, left to right. Lower case is
/// drawn as upper case; anything unknown as `?`.
fn glyph(ch: char) -> Option<[u8; 5]> {
    let ch = ch.to_ascii_uppercase();
    let g = match ch {
        ' ' => return None,
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 3, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 2, 2, 2],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [3, 4, 4, 4, 3],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [3, 4, 5, 5, 3],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'J' => [1, 1, 1, 5, 2],
        'K' => [5, 5, 6, 5, 5],
        'L' => [4, 4, 4, 4, 7],
        'M' => [5, 7, 7, 5, 5],
        'N' => [6, 5, 5, 5, 5],
        'O' => [2, 5, 5, 5, 2],
        'P' => [6, 5, 6, 4, 4],
        'Q' => [2, 5, 5, 6, 3],
        'R' => [6, 5, 6, 5, 5],
        'S' => [3, 4, 2, 1, 6],
        'T' => [7, 2, 2, 2, 2],
        'U' => [5, 5, 5, 5, 7],
        'V' => [5, 5, 5, 5, 2],
        'W' => [5, 5, 7, 7, 5],
        'X' => [5, 5, 2, 5, 5],
        'Y' => [5, 5, 2, 2, 2],
        'Z' => [7, 1, 2, 4, 7],
        '.' => [0, 0, 0, 0, 2],
        ':' => [0, 2, 0, 2, 0],
        '-' => [0, 0, 7, 0, 0],
        '=' => [0, 7, 0, 7, 0],
        '+' => [0, 2, 7, 2, 0],
        '_' => [0, 0, 0, 0, 7],
        ',' => [0, 0, 0, 2, 4],
        '/' => [1, 1, 2, 4, 4],
        '(' => [2, 4, 4, 4, 2],
        ')' => [2, 1, 1, 1, 2],
        '[' => [6, 4, 4, 4, 6],
        ']' => [3, 1, 1, 1, 3],
        '{' => [3, 2, 6, 2, 3],
        '}' => [6, 2, 3, 2, 6],
        '<' => [1, 2, 4, 2, 1],
        '>' => [4, 2, 1, 2, 4],
        '*' => [0, 5, 2, 5, 0],
        '&' => [2, 5, 2, 5, 3],
        '"' => [5, 5, 0, 0, 0],
        '\'' => [2, 2, 0, 0, 0],
        '#' => [5, 7, 5, 7, 5],
        '!' => [2, 2, 2, 0, 2],
        '|' => [2, 2, 2, 2, 2],
        '%' => [5, 1, 2, 4, 5],
        '·' => [0, 0, 2, 0, 0],
        _ => [7, 1, 2, 0, 2],
    };
    Some(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_fill_from_the_bottom_and_text_uses_the_font() {
        let mut canvas = Canvas::default();
        canvas.lines.push(vec![
            Cell {
                ch: '█',
                color: Some(2),
            },
            Cell {
                ch: '▄',
                color: Some(1),
            },
            Cell { ch: '1', color: None },
        ]);
        let (w, h) = (3 * CELL_W, CELL_H);
        let px = rasterize(&canvas, w, h);
        let at = |x: usize, y: usize| px[y * w + x];
        assert_eq!(at(0, 0), 2);
        assert_eq!(at(CELL_W - 1, CELL_H - 1), 2);
        assert_eq!(at(CELL_W, 0), BACKGROUND, "a half block leaves the top empty");
        assert_eq!(at(CELL_W, CELL_H - 1), 1);
        // The `1` glyph's middle column is lit on every row of the font.
        assert_eq!(at(2 * CELL_W + SCALE, 1 + SCALE * 2), FOREGROUND);
        assert_eq!(at(2 * CELL_W, 1 + SCALE * 2), BACKGROUND);
    }

    #[test]
    fn a_gif_starts_with_its_signature_and_has_one_image_per_frame() {
        let mut canvas = Canvas::default();
        canvas.lines.push(vec![Cell { ch: 'A', color: None }]);
        let mut bytes = Vec::new();
        write_gif(&mut bytes, &[canvas.clone(), canvas], 4.0).unwrap();
        assert!(bytes.starts_with(b"GIF89a"));
        let mut decoder = gif::DecodeOptions::new().read_info(bytes.as_slice()).unwrap();
        let mut frames = 0;
        while let Some(frame) = decoder.read_next_frame().unwrap() {
            assert_eq!(frame.delay, 25);
            frames += 1;
        }
        assert_eq!(frames, 2);
    }
}
