//! CSS values as layout needs them: lengths in every unit WXSS uses
//! (`px`, `rpx`, `%`, `vw`, `vh`, `vmin`, `vmax`, `em`, `rem`), `calc()`
//! reduced to "pixels plus a share of the percentage basis", and numbers.

/// What relative units resolve against, for one element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Units {
    /// Pixels per rpx: window width / 750.
    pub rpx: f32,
    pub viewport_width: f32,
    pub viewport_height: f32,
    /// The element's font size (for `em`).
    pub em: f32,
    /// The root font size (for `rem`).
    pub rem: f32,
}

/// A length as specified: a definite pixel value, a share of the
/// percentage basis, both (`calc(100% - 20px)`), or `auto`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Length {
    Px(f32),
    /// 0.5 for 50%.
    Percent(f32),
    Calc {
        px: f32,
        percent: f32,
    },
    Auto,
}

impl Length {
    /// The pixel value once the percentage basis is known.
    pub fn resolve(self, basis: f32) -> Option<f32> {
        match self {
            Length::Px(px) => Some(px),
            Length::Percent(p) => Some(p * basis),
            Length::Calc { px, percent } => Some(px + percent * basis),
            Length::Auto => None,
        }
    }
}

/// A linear value while evaluating `calc()`: `px + percent × basis`, or a
/// plain number.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Linear {
    px: f32,
    percent: f32,
    number: bool,
}

/// Parses one length (`auto` and `0` included). `None` when the value is
/// not a length this crate understands; the declaration is then ignored.
pub(crate) fn parse_length(value: &str, units: &Units) -> Option<Length> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("auto") {
        return Some(Length::Auto);
    }
    let mut tokens = Tokens::new(value);
    let linear = parse_sum(&mut tokens, units)?;
    if tokens.next().is_some() {
        return None;
    }
    if linear.number {
        // Only a bare 0 is a length without a unit.
        return (linear.px == 0.0).then_some(Length::Px(0.0));
    }
    if !linear.px.is_finite() || !linear.percent.is_finite() {
        return None;
    }
    Some(match (linear.px, linear.percent) {
        (px, 0.0) => Length::Px(px),
        (0.0, p) => Length::Percent(p),
        (px, percent) => Length::Calc { px, percent },
    })
}

/// A plain number (`flex-grow: 2`, `line-height: 1.5`).
pub(crate) fn parse_number(value: &str) -> Option<f32> {
    let number: f32 = value.trim().parse().ok()?;
    number.is_finite().then_some(number)
}

/// A length in a media query (`min-width: 400px`); `rpx` is allowed there
/// in WXSS, relative to the viewport width.
pub(crate) fn parse_media_length(value: &str, viewport_width: f32) -> Option<f32> {
    let units = Units {
        rpx: viewport_width / 750.0,
        viewport_width,
        viewport_height: 0.0,
        em: 16.0,
        rem: 16.0,
    };
    parse_length(value, &units)?.resolve(0.0)
}

/// Splits the value into numbers with units, operators and brackets.
struct Tokens<'a> {
    text: &'a str,
    pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    Dimension(f32, &'a str),
    Op(char),
    Function(&'a str),
    Close,
    Comma,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        Tokens { text, pos: 0 }
    }

    fn peek(&mut self) -> Option<Token<'a>> {
        let saved = self.pos;
        let token = self.next();
        self.pos = saved;
        token
    }

    fn next(&mut self) -> Option<Token<'a>> {
        let rest = &self.text[self.pos..];
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
        let c = trimmed.chars().next()?;
        let start = self.pos;
        let number_start = c.is_ascii_digit()
            || c == '.'
            || ((c == '-' || c == '+')
                && trimmed[1..]
                    .chars()
                    .next()
                    .is_some_and(|d| d.is_ascii_digit() || d == '.')
                && self.operand_expected());
        if number_start {
            let mut end = c.len_utf8();
            let bytes = trimmed.as_bytes();
            while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
                end += 1;
            }
            // An exponent (`1e3`) only when digits follow.
            if end + 1 < bytes.len()
                && (bytes[end] == b'e' || bytes[end] == b'E')
                && (bytes[end + 1].is_ascii_digit()
                    || ((bytes[end + 1] == b'-' || bytes[end + 1] == b'+')
                        && bytes.get(end + 2).is_some_and(u8::is_ascii_digit)))
            {
                end += 2;
                while end < bytes.len() && bytes[end].is_ascii_digit() {
                    end += 1;
                }
            }
            let number: f32 = trimmed[..end].parse().ok()?;
            let unit_len = trimmed[end..]
                .find(|c: char| !(c.is_ascii_alphabetic() || c == '%'))
                .unwrap_or(trimmed.len() - end);
            let unit = &trimmed[end..end + unit_len];
            self.pos = start + end + unit_len;
            return Some(Token::Dimension(number, unit));
        }
        match c {
            '+' | '-' | '*' | '/'
                if !(c == '-' && trimmed[1..].starts_with(|d: char| d.is_ascii_alphabetic())) =>
            {
                self.pos += 1;
                Some(Token::Op(c))
            }
            '(' => {
                self.pos += 1;
                Some(Token::Function(""))
            }
            ')' => {
                self.pos += 1;
                Some(Token::Close)
            }
            ',' => {
                self.pos += 1;
                Some(Token::Comma)
            }
            _ => {
                let len = trimmed
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                    .unwrap_or(trimmed.len());
                if len == 0 {
                    return None;
                }
                let name = &trimmed[..len];
                self.pos += len;
                if self.text[self.pos..].starts_with('(') {
                    self.pos += 1;
                    Some(Token::Function(name))
                } else {
                    // A bare identifier where a length was expected.
                    None
                }
            }
        }
    }

    /// Skips raw text to the `)` closing the current function.
    fn skip_past_close(&mut self) -> Option<()> {
        let mut depth = 1;
        for (i, c) in self.text[self.pos..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos += i + 1;
                        return Some(());
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Whether a sign here starts a number (`-2px`) rather than being an
    /// operator: calc() requires spaces around a binary `-`, so a sign right
    /// after an opener, a comma, another operator or nothing is a number's.
    fn operand_expected(&self) -> bool {
        let before = self.text[..self.pos].trim_end();
        before.is_empty() || before.ends_with(['(', ',', '*', '/', '+', '-'])
    }
}

fn dimension(number: f32, unit: &str, units: &Units) -> Option<Linear> {
    let px = |px: f32| {
        Some(Linear {
            px,
            percent: 0.0,
            number: false,
        })
    };
    match unit.to_ascii_lowercase().as_str() {
        "" => Some(Linear {
            px: number,
            percent: 0.0,
            number: true,
        }),
        "px" => px(number),
        "rpx" | "upx" => px(number * units.rpx),
        "%" => Some(Linear {
            px: 0.0,
            percent: number / 100.0,
            number: false,
        }),
        "vw" => px(number * units.viewport_width / 100.0),
        "vh" => px(number * units.viewport_height / 100.0),
        "vmin" => px(number * units.viewport_width.min(units.viewport_height) / 100.0),
        "vmax" => px(number * units.viewport_width.max(units.viewport_height) / 100.0),
        "em" => px(number * units.em),
        "rem" => px(number * units.rem),
        "pt" => px(number * 4.0 / 3.0),
        _ => None,
    }
}

fn parse_sum(tokens: &mut Tokens<'_>, units: &Units) -> Option<Linear> {
    let mut left = parse_product(tokens, units)?;
    while let Some(Token::Op(op @ ('+' | '-'))) = tokens.peek() {
        tokens.next();
        let right = parse_product(tokens, units)?;
        if left.number != right.number {
            return None;
        }
        let sign = if op == '+' { 1.0 } else { -1.0 };
        left.px += sign * right.px;
        left.percent += sign * right.percent;
    }
    Some(left)
}

fn parse_product(tokens: &mut Tokens<'_>, units: &Units) -> Option<Linear> {
    let mut left = parse_operand(tokens, units)?;
    while let Some(Token::Op(op @ ('*' | '/'))) = tokens.peek() {
        tokens.next();
        let right = parse_operand(tokens, units)?;
        left = match (op, left.number, right.number) {
            ('*', true, _) => Linear {
                px: right.px * left.px,
                percent: right.percent * left.px,
                number: right.number,
            },
            ('*', false, true) | ('/', _, true) => {
                let factor = if op == '*' { right.px } else { 1.0 / right.px };
                Linear {
                    px: left.px * factor,
                    percent: left.percent * factor,
                    number: left.number,
                }
            }
            _ => return None,
        };
    }
    Some(left)
}

fn parse_operand(tokens: &mut Tokens<'_>, units: &Units) -> Option<Linear> {
    match tokens.next()? {
        Token::Dimension(number, unit) => dimension(number, unit, units),
        Token::Op('-') => {
            let inner = parse_operand(tokens, units)?;
            Some(Linear {
                px: -inner.px,
                percent: -inner.percent,
                number: inner.number,
            })
        }
        Token::Function(name) => {
            let name = name.to_ascii_lowercase();
            match name.as_str() {
                "" | "calc" | "-webkit-calc" => {
                    let inner = parse_sum(tokens, units)?;
                    (tokens.next()? == Token::Close).then_some(inner)
                }
                "min" | "max" | "clamp" => {
                    let mut args = vec![parse_sum(tokens, units)?];
                    loop {
                        match tokens.next()? {
                            Token::Comma => args.push(parse_sum(tokens, units)?),
                            Token::Close => break,
                            _ => return None,
                        }
                    }
                    // Comparable only when no percentage is involved.
                    if args.iter().any(|a| a.percent != 0.0) {
                        return None;
                    }
                    let values: Vec<f32> = args.iter().map(|a| a.px).collect();
                    let px = match (name.as_str(), values.as_slice()) {
                        ("min", _) => values.iter().copied().fold(f32::INFINITY, f32::min),
                        ("max", _) => values.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                        ("clamp", [lo, v, hi]) => v.min(*hi).max(*lo),
                        _ => return None,
                    };
                    Some(Linear {
                        px,
                        percent: 0.0,
                        number: args.iter().all(|a| a.number),
                    })
                }
                // Safe areas are zero on Bonsai's devices; a fallback
                // argument is ignored for the same reason.
                "env" | "constant" => {
                    tokens.skip_past_close()?;
                    Some(Linear {
                        px: 0.0,
                        percent: 0.0,
                        number: false,
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Splits a shorthand's value at top-level whitespace (`1px calc(2px + 3%)`).
pub(crate) fn split_values(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start: Option<usize> = None;
    for (i, c) in value.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c.is_whitespace() && depth == 0 {
            if let Some(s) = start.take() {
                parts.push(&value[s..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        parts.push(&value[s..]);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNITS: Units = Units {
        rpx: 0.5,
        viewport_width: 375.0,
        viewport_height: 600.0,
        em: 20.0,
        rem: 16.0,
    };

    #[test]
    fn lengths() {
        let p = |v| parse_length(v, &UNITS);
        assert_eq!(p("100rpx"), Some(Length::Px(50.0)));
        assert_eq!(p("50%"), Some(Length::Percent(0.5)));
        assert_eq!(p("10vw"), Some(Length::Px(37.5)));
        assert_eq!(p("2em"), Some(Length::Px(40.0)));
        assert_eq!(p("-1.5rem"), Some(Length::Px(-24.0)));
        assert_eq!(p("0"), Some(Length::Px(0.0)));
        assert_eq!(p("12"), None);
        assert_eq!(p("auto"), Some(Length::Auto));
        assert_eq!(
            p("calc(100% - 20rpx)"),
            Some(Length::Calc {
                px: -10.0,
                percent: 1.0
            })
        );
        assert_eq!(p("calc((100vh - 100px) / 2)"), Some(Length::Px(250.0)));
        assert_eq!(
            p("calc(2 * 10px + env(safe-area-inset-bottom))"),
            Some(Length::Px(20.0))
        );
        assert_eq!(p("max(10px, 20rpx)"), Some(Length::Px(10.0)));
        assert_eq!(p("inherit"), None);
        assert_eq!(p("1e1px"), Some(Length::Px(10.0)));
        assert_eq!(
            split_values("1px calc(2px + 3%)  4px"),
            vec!["1px", "calc(2px + 3%)", "4px"]
        );
    }
}
