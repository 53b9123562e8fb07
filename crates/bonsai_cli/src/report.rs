//! Printing diagnostics: code frames for people (codespan-reporting, coloured
//! when stderr is a terminal) and plain records for `--json`.

use std::io::IsTerminal;

use bonsai_diagnostics::{Diagnostic, DiagnosticJson, Severity};
use codespan_reporting::diagnostic::{Diagnostic as Frame, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor};

use crate::project::LoadedProject;

/// A diagnostic as `--json` prints it: positions resolved to 1-based line/column.
pub fn to_json(project: &LoadedProject, diagnostic: &Diagnostic) -> DiagnosticJson {
    let file = diagnostic.file.as_deref();
    DiagnosticJson::new(diagnostic, file.and_then(|f| project.source_of(f)))
        .with_file(file.map(|f| project.display_path(f)))
}

/// Writes every diagnostic to stderr with a code frame where the source is known.
pub fn print_human(project: &LoadedProject, diagnostics: &[Diagnostic]) {
    let choice = if std::io::stderr().is_terminal() {
        termcolor::ColorChoice::Auto
    } else {
        termcolor::ColorChoice::Never
    };
    let stream = termcolor::StandardStream::stderr(choice);
    let mut out = stream.lock();
    let config = term::Config::default();
    let mut files = SimpleFiles::new();
    for diagnostic in diagnostics {
        let severity = match diagnostic.severity {
            Severity::Error => codespan_reporting::diagnostic::Severity::Error,
            Severity::Warning => codespan_reporting::diagnostic::Severity::Warning,
            Severity::Note => codespan_reporting::diagnostic::Severity::Note,
        };
        let mut frame = Frame::new(severity)
            .with_code(diagnostic.code.clone())
            .with_message(diagnostic.message.clone());
        let file = diagnostic.file.as_deref();
        match (
            file,
            file.and_then(|f| project.source_of(f)),
            diagnostic.span,
        ) {
            (Some(file), Some(source), Some(span)) if span.fits(source.as_bytes()) => {
                let id = files.add(project.display_path(file), source);
                let range = span.range();
                frame = frame.with_labels(vec![Label::primary(id, range)]);
            }
            (Some(file), _, _) => {
                frame = frame.with_notes(vec![format!("in {}", project.display_path(file))]);
            }
            _ => {}
        }
        if let Some(help) = &diagnostic.help {
            frame.notes.push(format!("help: {help}"));
        }
        if term::emit_to_write_style(&mut out, &config, &files, &frame).is_err() {
            // The span did not fit the file (should not happen); fall back to one line.
            eprintln!("{diagnostic}");
        }
    }
}
