//! Diagnostics shared by every Bonsai parser and compiler.
//!
//! Parsers never fail outright: they return their output together with a
//! `Vec<Diagnostic>`. A diagnostic names the file (a package-relative path such
//! as `pages/index/index.wxml`) and, where one exists, a byte span into that
//! file's source. Line and column are derived from the span by [`LineIndex`],
//! so every producer only has to keep byte offsets.
//!
//! **Architecture invariant:** this crate does no I/O and depends on nothing of
//! Bonsai's; every other crate may depend on it.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// How bad a diagnostic is. `Error` makes `bonsai check` exit with 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A half-open byte range into one file's source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let end = u32::try_from(end).unwrap_or(u32::MAX).max(start);
        Span { start, end }
    }

    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Whether the span lies inside `source`, on character boundaries when
    /// it is UTF-8, so a code frame can slice it.
    pub fn fits(self, source: &[u8]) -> bool {
        let range = self.range();
        range.end <= source.len()
            && std::str::from_utf8(source).map_or(true, |text| {
                text.is_char_boundary(range.start) && text.is_char_boundary(range.end)
            })
    }
}

/// One finding about the user's package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable, greppable code such as `wxml::parse` or `package::missing-page`.
    pub code: String,
    pub message: String,
    /// Package-relative path of the file the diagnostic is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// A suggestion for the fix, shown under the code frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code: code.into(),
            message: message.into(),
            file: None,
            span: None,
            help: None,
        }
    }

    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    pub fn note(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, code, message)
    }

    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Attaches a span; `None` leaves the diagnostic file-level.
    pub fn with_span(mut self, span: impl Into<Option<Span>>) -> Self {
        self.span = span.into();
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col` (1-based) when the source is at hand, else `file`.
    pub fn location(&self, source: Option<&str>) -> Option<String> {
        let file = self.file.as_deref()?;
        match (self.span, source) {
            (Some(span), Some(src)) => {
                let pos = LineIndex::new(src).line_col(span.start as usize);
                Some(format!("{file}:{}:{}", pos.line, pos.column))
            }
            _ => Some(file.to_owned()),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)
    }
}

/// A diagnostic as it goes over the wire (`bonsai check --json`, the
/// registry's answers): its span resolved to 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiagnosticJson {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    /// `file:line:col` when the position is known, else the file; only
    /// when set by [`DiagnosticJson::with_location`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl DiagnosticJson {
    /// `diagnostic` with its span resolved in `source`, its file's text
    /// (offsets past the end clamp to it).
    pub fn new(diagnostic: &Diagnostic, source: Option<&str>) -> Self {
        let (start, end) = match (diagnostic.span, source) {
            (Some(span), Some(source)) => {
                let index = LineIndex::new(source);
                (
                    Some(index.line_col(span.start as usize)),
                    Some(index.line_col(span.end as usize)),
                )
            }
            _ => (None, None),
        };
        DiagnosticJson {
            severity: diagnostic.severity,
            code: diagnostic.code.clone(),
            message: diagnostic.message.clone(),
            location: None,
            file: diagnostic.file.clone(),
            line: start.map(|p| p.line),
            column: start.map(|p| p.column),
            end_line: end.map(|p| p.line),
            end_column: end.map(|p| p.column),
            help: diagnostic.help.clone(),
        }
    }

    /// Shows the file as `file` (the path the reader knows it by).
    pub fn with_file(mut self, file: Option<String>) -> Self {
        self.file = file;
        self
    }

    /// Sets [`location`](Self::location) from the file and position.
    pub fn with_location(mut self) -> Self {
        self.location = match (&self.file, self.line, self.column) {
            (Some(file), Some(line), Some(column)) => Some(format!("{file}:{line}:{column}")),
            (Some(file), _, _) => Some(file.clone()),
            (None, _, _) => None,
        };
        self
    }
}

impl fmt::Display for DiagnosticJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)
    }
}

/// Counts of diagnostics by severity.
pub fn count_errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

/// A 1-based line and column. Columns count Unicode scalar values, as editors do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineCol {
    pub line: u32,
    pub column: u32,
}

/// Maps byte offsets to line/column and back for one source text.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    source: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(source: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            source,
            line_starts,
        }
    }

    /// The 1-based position of a byte offset; offsets past the end clamp to it.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = floor_char_boundary(self.source, offset);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let column = self.source[self.line_starts[line]..offset].chars().count();
        LineCol {
            line: to_u32(line + 1),
            column: to_u32(column + 1),
        }
    }

    /// The byte offset of a 0-based line and a 0-based column counted in
    /// UTF-16 code units, which is what JavaScript tooling reports. Positions
    /// past the end of a line or the file clamp to it.
    pub fn offset_of_utf16(&self, line: usize, utf16_col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line) else {
            return self.source.len();
        };
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.source.len());
        let mut units = 0;
        for (i, ch) in self.source[start..end].char_indices() {
            if units >= utf16_col {
                return start + i;
            }
            units += ch.len_utf16();
        }
        end
    }

    /// The byte offset of a 1-based line and 1-based column counted in chars.
    pub fn offset_of_line_col(&self, line: u32, column: u32) -> usize {
        let Some(&start) = self.line_starts.get((line as usize).saturating_sub(1)) else {
            return self.source.len();
        };
        self.source[start..]
            .char_indices()
            .take_while(|&(_, c)| c != '\n')
            .nth((column as usize).saturating_sub(1))
            .map_or_else(
                || {
                    self.source[start..]
                        .find('\n')
                        .map_or(self.source.len(), |n| start + n)
                },
                |(i, _)| start + i,
            )
    }
}

fn floor_char_boundary(s: &str, mut offset: usize) -> usize {
    if offset >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_round_trips() {
        let src = "ab\n中文x\n\nlast";
        let index = LineIndex::new(src);
        assert_eq!(index.line_col(0), LineCol { line: 1, column: 1 });
        let x = src.find('x').unwrap();
        assert_eq!(index.line_col(x), LineCol { line: 2, column: 3 });
        assert_eq!(index.offset_of_line_col(2, 3), x);
        assert_eq!(index.offset_of_utf16(1, 2), x);
        assert_eq!(index.line_col(10_000), LineCol { line: 4, column: 5 });
        assert_eq!(index.offset_of_line_col(99, 1), src.len());
    }

    #[test]
    fn offsets_inside_a_char_snap_back() {
        let index = LineIndex::new("中");
        assert_eq!(index.line_col(1), LineCol { line: 1, column: 1 });
    }
}
