//! Text metrics without fonts: advance widths from a small per-class table
//! (close to the system sans-serif fonts WeChat uses: Helvetica/SF for
//! Latin, PingFang for CJK), line heights from the font size. Good to a few
//! pixels on short text, which is what selector-query answers need.

/// `line-height: normal` as a multiple of the font size, for Latin text.
pub(crate) const NORMAL_LINE_HEIGHT: f32 = 1.2;
/// … and for text with CJK characters (PingFang SC is taller).
pub(crate) const CJK_NORMAL_LINE_HEIGHT: f32 = 1.4;

/// Whether a character is set full-width (CJK ideographs, kana, hangul,
/// full-width forms, emoji): one em wide, and a line may break around it.
pub(crate) fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1FAFF
        | 0x20000..=0x3FFFD)
}

/// A character's advance in ems.
pub(crate) fn advance(c: char) -> f32 {
    if is_wide(c) {
        return 1.0;
    }
    match c {
        ' ' | '\u{a0}' => 0.278,
        'i' | 'j' | 'l' | 'I' | '.' | ',' | ':' | ';' | '!' | '|' | '\'' => 0.25,
        'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' => 0.35,
        'm' | 'w' | 'M' | 'W' | '@' => 0.85,
        'A'..='Z' => 0.68,
        '0'..='9' => 0.556,
        '\u{0}'..='\u{1f}' | '\u{200b}'..='\u{200d}' => 0.0,
        _ => 0.55,
    }
}

/// The width of `text` at `font_size`, with `letter_spacing` after each character.
pub(crate) fn width(text: &str, font_size: f32, letter_spacing: f32) -> f32 {
    text.chars()
        .map(|c| advance(c) * font_size + letter_spacing)
        .sum()
}

/// `line-height: normal` for this text.
pub(crate) fn normal_factor(text: &str) -> f32 {
    if text.chars().any(is_wide) {
        CJK_NORMAL_LINE_HEIGHT
    } else {
        NORMAL_LINE_HEIGHT
    }
}

/// One unit of line breaking.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    /// Text that must stay on one line.
    Word(String),
    /// A collapsible or preserved space; a line may break here.
    Space(String),
    /// A preserved newline.
    Break,
}

/// Splits text into pieces under a `white-space` mode: `collapse` folds
/// runs of whitespace into one space, `keep_newlines` turns `\n` into a
/// forced break. A line may break before any wide character, or anywhere
/// with `break_all`.
pub(crate) fn pieces(
    text: &str,
    collapse: bool,
    keep_newlines: bool,
    break_all: bool,
) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Piece>| {
        if !word.is_empty() {
            out.push(Piece::Word(std::mem::take(word)));
        }
    };
    for c in text.chars() {
        if c == '\n' && keep_newlines {
            flush(&mut word, &mut out);
            out.push(Piece::Break);
        } else if c.is_whitespace() && c != '\u{a0}' {
            flush(&mut word, &mut out);
            if collapse {
                if !matches!(out.last(), Some(Piece::Space(_))) {
                    out.push(Piece::Space(" ".to_owned()));
                }
            } else {
                let c = if c == '\t' { ' ' } else { c };
                out.push(Piece::Space(c.to_string()));
            }
        } else if is_wide(c) || break_all {
            flush(&mut word, &mut out);
            out.push(Piece::Word(c.to_string()));
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_pieces() {
        assert_eq!(width("中文", 16.0, 0.0), 32.0);
        assert_eq!(width("中文", 16.0, 2.0), 36.0);
        assert_eq!(
            pieces("a  b\nc中", true, false, false),
            vec![
                Piece::Word("a".into()),
                Piece::Space(" ".into()),
                Piece::Word("b".into()),
                Piece::Space(" ".into()),
                Piece::Word("c".into()),
                Piece::Word("中".into()),
            ]
        );
        assert_eq!(pieces("a\nb", true, true, false)[1], Piece::Break);
    }
}
