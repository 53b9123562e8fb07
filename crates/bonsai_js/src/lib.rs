//! Mini-program JavaScript and TypeScript → a CommonJS script for QuickJS-ng.
//!
//! The runtime evaluates every app file as the body of a function
//! `(require, module, exports, ...)`, the way WeChat does. Authors, however,
//! write ES modules, TypeScript, CommonJS, or a mix of `import` and `require`
//! in one file. [`transform_module`] turns each of them into such a body:
//!
//! - TypeScript is stripped of its types with swc (no type checking).
//! - A file with `import`/`export` becomes CommonJS through swc's `common_js`
//!   pass, with babel-compatible interop (`__esModule`, `default`) and the few
//!   helpers it needs inlined into the file, so no `@swc/helpers` package has
//!   to exist at run time. `require` calls are left alone, so mixed files work.
//! - Nothing else is lowered: QuickJS-ng runs ES2023, and each lowering would
//!   only cost size, speed and debuggability.
//! - A JavaScript file with no `import`/`export` is already a CommonJS body and
//!   is passed through byte for byte ([`JsOutput::is_esm`] is `false`); it is
//!   still parsed, to report syntax errors before the engine meets them.
//!
//! Every output carries a v3 source map back to the author's file. Syntax
//! errors become `js::syntax` diagnostics with byte spans into the source.
//!
//! swc is not hardened against every input: it may panic, and it recurses on
//! the syntax tree. Each job therefore runs on its own thread with a large
//! stack; joining that thread catches a panic as `catch_unwind` would, and it
//! becomes a `js::internal` diagnostic instead of unwinding into the caller.

mod source_map;

use std::any::Any;
use std::sync::{Arc, Mutex};
use std::thread;

use bonsai_diagnostics::{Diagnostic, Span};
use swc_core::common::comments::SingleThreadedComments;
use swc_core::common::errors::{DiagnosticBuilder, Emitter as ErrorEmitter, HANDLER, Handler};
use swc_core::common::sync::Lrc;
use swc_core::common::{
    BytePos, FileName, GLOBALS, Globals, LineCol, Mark, SourceFile, SourceMap, Spanned,
};
use swc_core::ecma::ast::{EsVersion, Program};
use swc_core::ecma::codegen::text_writer::JsWriter;
use swc_core::ecma::codegen::{Config as CodegenConfig, Emitter};
use swc_core::ecma::parser::error::Error as ParseError;
use swc_core::ecma::parser::{
    EsSyntax, Syntax, TsSyntax, parse_file_as_program, parse_file_as_script,
};
use swc_core::ecma::transforms::base::fixer::fixer;
use swc_core::ecma::transforms::base::helpers::{HELPERS, Helpers, inject_helpers};
use swc_core::ecma::transforms::base::hygiene::hygiene;
use swc_core::ecma::transforms::base::resolver;
use swc_core::ecma::transforms::module::common_js::{self, FeatureFlag};
use swc_core::ecma::transforms::module::path::Resolver;
use swc_core::ecma::transforms::module::util::Config as ModuleConfig;
use swc_core::ecma::transforms::typescript::{self, Config as TsConfig};

/// A file ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsOutput {
    /// A CommonJS function body: no `import` or `export` statement remains.
    pub code: String,
    /// A source map (v3 JSON) from `code` back to the original file, which it
    /// names by the path given to [`transform_module`]. It carries no
    /// `sourcesContent`: the caller has the source. For a pass-through script
    /// it maps every word and punctuation mark to itself.
    pub source_map: String,
    /// `true` when the source had `import`/`export` and was converted to
    /// CommonJS. `false` when it was a script already: JavaScript is then
    /// passed through unchanged (`code == source`), TypeScript only loses its
    /// types.
    pub is_esm: bool,
}

/// The language a script file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsDialect {
    JavaScript,
    TypeScript,
}

impl JsDialect {
    /// The dialect of a file by its extension: `.js`, `.mjs`, `.cjs` or `.ts`.
    /// Anything else, including `.wxs`, is not a module the runtime loads.
    pub fn from_path(path: &str) -> Option<JsDialect> {
        let ext = path.rsplit_once('.')?.1;
        match ext {
            "js" | "mjs" | "cjs" => Some(JsDialect::JavaScript),
            "ts" => Some(JsDialect::TypeScript),
            _ => None,
        }
    }
}

/// The code of every syntax error this crate reports.
const SYNTAX_CODE: &str = "js::syntax";
/// The code of a failure inside swc itself, which is a bug and not the author's.
const INTERNAL_CODE: &str = "js::internal";

/// Stack of the thread each job runs on. swc's parser, passes and printer
/// recurse on the tree: a long `a + b + …` chain or deeply nested literals in
/// generated code would overflow the 2 MiB of a default thread, and an
/// overflow aborts the process. Only the pages touched are committed.
const STACK_SIZE: usize = 256 * 1024 * 1024;

/// Turns one mini-program script into a CommonJS body (see the crate docs).
///
/// The dialect follows [`JsDialect::from_path`]; a path it does not know is
/// read as JavaScript. A file with a syntax error yields no output.
pub fn transform_module(path: &str, source: &str) -> (Option<JsOutput>, Vec<Diagnostic>) {
    let dialect = JsDialect::from_path(path).unwrap_or(JsDialect::JavaScript);
    let (source, bom) = split_bom(source);
    match guarded(path, || transform(path, source, dialect)) {
        Ok(output) => (Some(output), Vec::new()),
        Err(diagnostics) => (None, shift_spans(diagnostics, bom)),
    }
}

/// swc drops a leading byte order mark from the text its spans count in, so
/// it is taken off here and the spans moved back past it.
fn split_bom(source: &str) -> (&str, usize) {
    match source.strip_prefix('\u{feff}') {
        Some(rest) => (rest, '\u{feff}'.len_utf8()),
        None => (source, 0),
    }
}

fn shift_spans(diagnostics: Vec<Diagnostic>, by: usize) -> Vec<Diagnostic> {
    if by == 0 {
        return diagnostics;
    }
    diagnostics
        .into_iter()
        .map(|mut d| {
            d.span = d
                .span
                .map(|s| Span::new(s.start as usize + by, s.end as usize + by));
            d
        })
        .collect()
}

/// Parse-only syntax check for WXS (ES5-ish JS that WeChat runs in its own
/// engine); no transform.
///
/// WXS is read as a classic script that may `return` at top level, as a
/// CommonJS body may. Whether it keeps to the subset WeChat's engine accepts
/// is not checked here.
pub fn check_script_syntax(path: &str, source: &str) -> Vec<Diagnostic> {
    let (source, bom) = split_bom(source);
    let checked = guarded(path, || {
        with_source(path, source, |_, fm| {
            let mut recovered = Vec::new();
            let parsed = parse_file_as_script(
                fm,
                Syntax::Es(es_syntax()),
                EsVersion::latest(),
                None,
                &mut recovered,
            );
            syntax_errors(path, fm, parsed, recovered).map(drop)
        })
    });
    shift_spans(checked.err().unwrap_or_default(), bom)
}

fn transform(path: &str, source: &str, dialect: JsDialect) -> Result<JsOutput, Vec<Diagnostic>> {
    with_source(path, source, |cm, fm| {
        let comments = SingleThreadedComments::default();
        let syntax = match dialect {
            JsDialect::JavaScript => Syntax::Es(es_syntax()),
            JsDialect::TypeScript => Syntax::Typescript(TsSyntax {
                // Declaration files allow bodiless overloads and the like.
                dts: path.ends_with(".d.ts"),
                ..Default::default()
            }),
        };
        let mut recovered = Vec::new();
        // `parse_file_as_program` decides module or script by the presence of
        // module syntax, which is exactly the ESM/CommonJS split we need.
        let parsed = parse_file_as_program(
            fm,
            syntax,
            EsVersion::latest(),
            Some(&comments),
            &mut recovered,
        );
        let mut program = syntax_errors(path, fm, parsed, recovered)?;
        let is_esm = program.is_module();

        if !is_esm && dialect == JsDialect::JavaScript {
            return Ok(JsOutput {
                code: source.to_owned(),
                source_map: source_map::identity(path, source).map_err(internal(path))?,
                is_esm,
            });
        }

        let unresolved_mark = Mark::new();
        let top_level_mark = Mark::new();
        let reported = Reported::default();
        let handler = Handler::with_emitter(false, false, Box::new(reported.clone()));
        // `false`: inline the helpers instead of importing `@swc/helpers`.
        HELPERS.set(&Helpers::new(false), || {
            HANDLER.set(&handler, || {
                program.mutate(resolver(
                    unresolved_mark,
                    top_level_mark,
                    dialect == JsDialect::TypeScript,
                ));
                if dialect == JsDialect::TypeScript {
                    program.mutate(typescript::typescript(
                        TsConfig {
                            // Class fields are ES2022 and the engine has them; the
                            // default would move them into the constructor.
                            native_class_properties: true,
                            ..Default::default()
                        },
                        unresolved_mark,
                        top_level_mark,
                    ));
                }
                if is_esm {
                    program.mutate(common_js::common_js(
                        Resolver::Default,
                        unresolved_mark,
                        ModuleConfig::default(),
                        FeatureFlag {
                            support_block_scoping: true,
                            support_arrow: true,
                        },
                    ));
                }
                program.mutate(inject_helpers(unresolved_mark));
                program.mutate(hygiene());
                program.mutate(fixer(Some(&comments)));
            })
        });
        let errors = reported.take();
        if !errors.is_empty() {
            return Err(to_diagnostics(path, fm, errors));
        }

        let (code, mappings) = print(cm, &program, &comments).map_err(internal(path))?;
        Ok(JsOutput {
            code,
            source_map: source_map::from_swc(cm, path, &mappings).map_err(internal(path))?,
            is_esm,
        })
    })
}

/// Runs `job` with swc's per-thread state set up for one source file.
fn with_source<T>(
    path: &str,
    source: &str,
    job: impl FnOnce(&Lrc<SourceMap>, &SourceFile) -> T,
) -> T {
    GLOBALS.set(&Globals::new(), || {
        let cm = Lrc::new(SourceMap::default());
        let fm = cm.new_source_file(FileName::Custom(path.to_owned()).into(), source.to_owned());
        job(&cm, &fm)
    })
}

fn es_syntax() -> EsSyntax {
    EsSyntax {
        // The engine runs every file as a function body, as WeChat does.
        allow_return_outside_function: true,
        ..Default::default()
    }
}

/// Keeps a tree only if the parse had no error at all: swc recovers from some
/// errors, but the engine would reject the file anyway.
fn syntax_errors<T>(
    path: &str,
    fm: &SourceFile,
    parsed: Result<T, ParseError>,
    mut recovered: Vec<ParseError>,
) -> Result<T, Vec<Diagnostic>> {
    let tree = match parsed {
        Ok(tree) if recovered.is_empty() => return Ok(tree),
        Ok(_) => None,
        Err(fatal) => Some(fatal),
    };
    recovered.extend(tree);
    let errors = recovered
        .into_iter()
        .map(|error| (Some(error.span()), error.kind().msg().into_owned()))
        .collect();
    Err(to_diagnostics(path, fm, errors))
}

/// An error as swc reports it: where, if anywhere, and what.
type SwcError = (Option<swc_core::common::Span>, String);

/// `js::syntax` diagnostics, in source order, from swc's spans and messages.
fn to_diagnostics(path: &str, fm: &SourceFile, errors: Vec<SwcError>) -> Vec<Diagnostic> {
    let mut diagnostics: Vec<Diagnostic> = errors
        .into_iter()
        .map(|(span, message)| {
            let diagnostic = Diagnostic::error(SYNTAX_CODE, message).in_file(path);
            match span {
                Some(span) if !span.is_dummy() => {
                    let start = span.lo.0.saturating_sub(fm.start_pos.0);
                    let end = span.hi.0.saturating_sub(fm.start_pos.0);
                    diagnostic.with_span(Span::new(start as usize, end as usize))
                }
                _ => diagnostic,
            }
        })
        .collect();
    // Recovered errors and the fatal one arrive in no particular order.
    diagnostics.sort_by_key(|d| d.span.map(|s| s.start));
    diagnostics.dedup();
    diagnostics
}

/// Collects what swc's passes report through `HANDLER`. The TypeScript pass
/// reports the few grammar errors the parser lets through (TS1147 and the
/// like) this way, and drops them silently when no handler is set. A mutex,
/// not a `RefCell`: swc requires emitters to be `Send` when any crate in the
/// build turns on its `concurrent` feature.
#[derive(Clone, Default)]
struct Reported(Arc<Mutex<Vec<SwcError>>>);

impl Reported {
    fn take(&self) -> Vec<SwcError> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

impl ErrorEmitter for Reported {
    fn emit(&mut self, db: &mut DiagnosticBuilder<'_>) {
        if db.is_error()
            && let Ok(mut reported) = self.0.lock()
        {
            reported.push((db.span.primary_span(), db.message()));
        }
    }
}

type Mappings = Vec<(BytePos, LineCol)>;

fn print(
    cm: &Lrc<SourceMap>,
    program: &Program,
    comments: &SingleThreadedComments,
) -> Result<(String, Mappings), String> {
    let mut code = Vec::new();
    let mut mappings = Vec::new();
    let mut emitter = Emitter {
        cfg: CodegenConfig::default()
            .with_target(EsVersion::latest())
            // Keep template literals exactly as written (`String.raw` sees it).
            .with_reduce_escaped_newline(false),
        cm: cm.clone(),
        comments: Some(comments),
        wr: JsWriter::new(cm.clone(), "\n", &mut code, Some(&mut mappings)),
    };
    emitter.emit_program(program).map_err(|e| e.to_string())?;
    String::from_utf8(code)
        .map(|code| (code, mappings))
        .map_err(|e| e.to_string())
}

/// Runs `job` on a fresh thread with a large stack, turning a panic in swc
/// into a diagnostic.
fn guarded<T: Send>(
    path: &str,
    job: impl FnOnce() -> Result<T, Vec<Diagnostic>> + Send,
) -> Result<T, Vec<Diagnostic>> {
    thread::scope(|scope| {
        let spawned = thread::Builder::new()
            .name("bonsai_js".to_owned())
            .stack_size(STACK_SIZE)
            .spawn_scoped(scope, job);
        match spawned {
            Ok(handle) => handle.join().unwrap_or_else(|payload| {
                Err(internal(path)(format!(
                    "swc crashed on this file: {}",
                    panic_message(payload.as_ref())
                )))
            }),
            Err(error) => Err(internal(path)(format!(
                "cannot start a compiler thread: {error}"
            ))),
        }
    })
}

/// A failure of swc or of this crate, not of the author's code.
fn internal(path: &str) -> impl Fn(String) -> Vec<Diagnostic> + '_ {
    move |message| vec![Diagnostic::error(INTERNAL_CODE, message).in_file(path)]
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}
