//! A CSS tokenizer (CSS Syntax Level 3, §4) that keeps byte offsets.
//!
//! lightningcss does not hand out its token stream with offsets, and the jobs
//! done here — finding `rpx` numbers, `@import` rules, `/deep/` and brace
//! structure outside strings, comments and `url()` — need exactly the token
//! boundaries a browser would see, so this is a small faithful tokenizer.
//! Every token starts where the previous one ended, tokens lie on `char`
//! boundaries, and every step consumes at least one byte, so it terminates on
//! any input.

/// The token kinds the rest of the crate needs to tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Whitespace,
    /// `unterminated`: the file ended inside the comment.
    Comment {
        unterminated: bool,
    },
    /// A quoted string. A newline ends it early (a "bad string"), as in CSS.
    String {
        unterminated: bool,
    },
    /// An unquoted `url(...)`, including its closing parenthesis.
    Url {
        unterminated: bool,
    },
    Ident,
    /// `name(`; it opens a parenthesis block like `(`.
    Function,
    AtKeyword,
    Hash,
    Number,
    Percentage,
    /// A number with a unit; the unit starts at byte `unit`.
    Dimension {
        unit: usize,
    },
    /// `(`, `[` or `{`.
    Open(u8),
    /// `)`, `]` or `}`.
    Close(u8),
    Semicolon,
    /// Any other single code point (`:` `,` `.` `>` `*` …); the byte is its first.
    Delim(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

pub(crate) fn tokenize(source: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        bytes: source.as_bytes(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    while lexer.pos < lexer.bytes.len() {
        let start = lexer.pos;
        let kind = lexer.next_kind();
        tokens.push(Token {
            kind,
            start,
            end: lexer.pos,
        });
    }
    tokens
}

struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_name(c: u8) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == b'-'
}

fn is_newline(c: u8) -> bool {
    matches!(c, b'\n' | b'\r' | b'\x0c')
}

fn is_whitespace(c: u8) -> bool {
    c == b' ' || c == b'\t' || is_newline(c)
}

/// Length of the UTF-8 sequence a leading byte starts.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

impl Lexer<'_> {
    /// The byte at `i`, or 0 past the end (0 is neither a name nor a digit).
    fn at(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    fn valid_escape(&self, i: usize) -> bool {
        self.at(i) == b'\\' && i + 1 < self.bytes.len() && !is_newline(self.at(i + 1))
    }

    fn starts_ident(&self, i: usize) -> bool {
        let c = self.at(i);
        if c == b'-' {
            is_name_start(self.at(i + 1)) || self.at(i + 1) == b'-' || self.valid_escape(i + 1)
        } else {
            is_name_start(c) || self.valid_escape(i)
        }
    }

    fn starts_number(&self, i: usize) -> bool {
        match self.at(i) {
            b'+' | b'-' => {
                self.at(i + 1).is_ascii_digit()
                    || (self.at(i + 1) == b'.' && self.at(i + 2).is_ascii_digit())
            }
            b'.' => self.at(i + 1).is_ascii_digit(),
            c => c.is_ascii_digit(),
        }
    }

    fn next_kind(&mut self) -> Kind {
        let c = self.at(self.pos);
        match c {
            _ if is_whitespace(c) => {
                while self.pos < self.bytes.len() && is_whitespace(self.at(self.pos)) {
                    self.pos += 1;
                }
                Kind::Whitespace
            }
            b'"' | b'\'' => self.string(c),
            b'/' if self.at(self.pos + 1) == b'*' => {
                let body = self.pos + 2;
                match find(&self.bytes[body.min(self.bytes.len())..], b"*/") {
                    Some(i) => {
                        self.pos = body + i + 2;
                        Kind::Comment {
                            unterminated: false,
                        }
                    }
                    None => {
                        self.pos = self.bytes.len();
                        Kind::Comment { unterminated: true }
                    }
                }
            }
            b'#' if is_name(self.at(self.pos + 1)) || self.valid_escape(self.pos + 1) => {
                self.pos += 1;
                self.name();
                Kind::Hash
            }
            b'@' if self.starts_ident(self.pos + 1) => {
                self.pos += 1;
                self.name();
                Kind::AtKeyword
            }
            b'(' | b'[' | b'{' => {
                self.pos += 1;
                Kind::Open(c)
            }
            b')' | b']' | b'}' => {
                self.pos += 1;
                Kind::Close(c)
            }
            b';' => {
                self.pos += 1;
                Kind::Semicolon
            }
            _ if self.starts_number(self.pos) => self.numeric(),
            _ if self.starts_ident(self.pos) => self.ident_like(),
            _ => {
                self.pos = (self.pos + utf8_len(c)).min(self.bytes.len());
                Kind::Delim(c)
            }
        }
    }

    fn string(&mut self, quote: u8) -> Kind {
        self.pos += 1;
        loop {
            let Some(&c) = self.bytes.get(self.pos) else {
                return Kind::String { unterminated: true };
            };
            match c {
                _ if c == quote => {
                    self.pos += 1;
                    return Kind::String {
                        unterminated: false,
                    };
                }
                // A raw newline ends a bad string and is not part of it.
                _ if is_newline(c) => {
                    return Kind::String {
                        unterminated: false,
                    };
                }
                b'\\' => {
                    // An escaped newline (`\` CR LF counts as one) continues the string.
                    let skip = if self.at(self.pos + 1) == b'\r' && self.at(self.pos + 2) == b'\n' {
                        3
                    } else {
                        2
                    };
                    self.pos = (self.pos + skip).min(self.bytes.len());
                }
                _ => self.pos += 1,
            }
        }
    }

    fn name(&mut self) {
        loop {
            if self.pos < self.bytes.len() && is_name(self.at(self.pos)) {
                self.pos += 1;
            } else if self.valid_escape(self.pos) {
                self.escape();
            } else {
                return;
            }
        }
    }

    /// Consumes `\` and the escaped code point (up to six hex digits and one
    /// whitespace, or one character).
    fn escape(&mut self) {
        self.pos += 1;
        if self.at(self.pos).is_ascii_hexdigit() {
            let mut digits = 0;
            while digits < 6 && self.at(self.pos).is_ascii_hexdigit() {
                self.pos += 1;
                digits += 1;
            }
            if self.at(self.pos) == b'\r' && self.at(self.pos + 1) == b'\n' {
                self.pos += 2;
            } else if is_whitespace(self.at(self.pos)) {
                self.pos += 1;
            }
        } else {
            self.pos = (self.pos + utf8_len(self.at(self.pos))).min(self.bytes.len());
        }
    }

    fn digits(&mut self) {
        while self.at(self.pos).is_ascii_digit() {
            self.pos += 1;
        }
    }

    fn numeric(&mut self) -> Kind {
        if matches!(self.at(self.pos), b'+' | b'-') {
            self.pos += 1;
        }
        self.digits();
        if self.at(self.pos) == b'.' && self.at(self.pos + 1).is_ascii_digit() {
            self.pos += 1;
            self.digits();
        }
        if matches!(self.at(self.pos), b'e' | b'E') {
            let sign = usize::from(matches!(self.at(self.pos + 1), b'+' | b'-'));
            if self.at(self.pos + 1 + sign).is_ascii_digit() {
                self.pos += 1 + sign;
                self.digits();
            }
        }
        if self.starts_ident(self.pos) {
            let unit = self.pos;
            self.name();
            Kind::Dimension { unit }
        } else if self.at(self.pos) == b'%' {
            self.pos += 1;
            Kind::Percentage
        } else {
            Kind::Number
        }
    }

    fn ident_like(&mut self) -> Kind {
        let start = self.pos;
        self.name();
        if self.at(self.pos) != b'(' {
            return Kind::Ident;
        }
        let is_url = self.bytes[start..self.pos].eq_ignore_ascii_case(b"url");
        self.pos += 1;
        if !is_url {
            return Kind::Function;
        }
        let mut arg = self.pos;
        while is_whitespace(self.at(arg)) {
            arg += 1;
        }
        if matches!(self.at(arg), b'"' | b'\'') {
            return Kind::Function;
        }
        self.pos = arg;
        loop {
            match self.bytes.get(self.pos) {
                None => return Kind::Url { unterminated: true },
                Some(b')') => {
                    self.pos += 1;
                    return Kind::Url {
                        unterminated: false,
                    };
                }
                Some(b'\\') if self.valid_escape(self.pos) => self.escape(),
                Some(_) => self.pos += 1,
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        tokenize(src)
            .into_iter()
            .map(|t| (t.kind, &src[t.start..t.end]))
            .collect()
    }

    #[test]
    fn numbers_idents_and_units() {
        let src = ".w-10rpx{margin:-10rpx +1.5e2rpx 1em 5%}";
        let dims: Vec<_> = kinds(src)
            .into_iter()
            .filter(|(k, _)| matches!(k, Kind::Dimension { .. } | Kind::Percentage))
            .map(|(_, text)| text)
            .collect();
        assert_eq!(dims, ["-10rpx", "+1.5e2rpx", "1em", "5%"]);
        assert!(kinds(src).contains(&(Kind::Ident, "w-10rpx")));
    }

    #[test]
    fn strings_comments_and_urls_hide_their_contents() {
        let src = "a{b:url(x10rpx.png) '1rpx' /* 2rpx */ url( \"3rpx\" )}";
        assert!(
            !kinds(src)
                .iter()
                .any(|(k, _)| matches!(k, Kind::Dimension { .. }))
        );
        assert!(kinds(src).contains(&(
            Kind::Url {
                unterminated: false
            },
            "url(x10rpx.png)"
        )));
    }

    #[test]
    fn unterminated_tokens_end_at_eof() {
        assert_eq!(
            kinds("/* x").last(),
            Some(&(Kind::Comment { unterminated: true }, "/* x"))
        );
        assert_eq!(
            kinds("'ab\\").last(),
            Some(&(Kind::String { unterminated: true }, "'ab\\"))
        );
        assert_eq!(kinds("'a\nb")[0].1, "'a");
    }

    #[test]
    fn multibyte_text_stays_on_char_boundaries() {
        let src = "中.类{content:'文'}\\中 é";
        for t in tokenize(src) {
            assert!(src.is_char_boundary(t.start) && src.is_char_boundary(t.end));
        }
    }
}
