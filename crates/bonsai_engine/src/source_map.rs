//! Maps positions in JS stack traces back to the app's own sources, through
//! the v3 source maps the compiler keeps for every script (ES modules and
//! TypeScript are rewritten, so their line numbers move).

use std::collections::HashMap;

/// One decoded map: for each generated line, segments sorted by column.
#[derive(Debug, Default)]
pub(crate) struct DecodedMap {
    sources: Vec<String>,
    /// (generated column, source index, source line, source column), all 0-based.
    lines: Vec<Vec<(u32, u32, u32, u32)>>,
}

fn vlq_values(segment: &str) -> Option<Vec<i64>> {
    let mut values = Vec::new();
    let mut value: i64 = 0;
    let mut shift = 0;
    for byte in segment.bytes() {
        let digit = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as i64;
        value += (digit & 31).checked_shl(shift)?;
        if digit & 32 == 0 {
            let negative = value & 1 == 1;
            value >>= 1;
            values.push(if negative { -value } else { value });
            value = 0;
            shift = 0;
        } else {
            shift += 5;
            if shift > 60 {
                return None;
            }
        }
    }
    Some(values)
}

impl DecodedMap {
    /// Decodes a v3 map; a malformed map decodes to nothing (positions stay as they are).
    pub(crate) fn parse(json: &str) -> DecodedMap {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else {
            return DecodedMap::default();
        };
        let sources = value["sources"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let mappings = value["mappings"].as_str().unwrap_or_default();
        let (mut source, mut source_line, mut source_column) = (0i64, 0i64, 0i64);
        let mut lines = Vec::new();
        for line in mappings.split(';') {
            let mut column = 0i64;
            let mut segments = Vec::new();
            for segment in line.split(',').filter(|s| !s.is_empty()) {
                let Some(values) = vlq_values(segment) else {
                    continue;
                };
                column += values.first().copied().unwrap_or(0);
                if values.len() >= 4 {
                    source += values[1];
                    source_line += values[2];
                    source_column += values[3];
                    let to_u32 = |n: i64| u32::try_from(n).unwrap_or(0);
                    segments.push((
                        to_u32(column),
                        to_u32(source),
                        to_u32(source_line),
                        to_u32(source_column),
                    ));
                }
            }
            segments.sort_unstable();
            lines.push(segments);
        }
        DecodedMap { sources, lines }
    }

    /// The original (file, line, column), 1-based, of a 1-based generated position.
    pub(crate) fn original(&self, line: u32, column: u32) -> Option<(&str, u32, u32)> {
        let segments = self.lines.get(line.checked_sub(1)? as usize)?;
        let column = column.saturating_sub(1);
        let index = segments.partition_point(|s| s.0 <= column);
        let &(_, source, source_line, source_column) =
            segments.get(index.checked_sub(1)?).or(segments.first())?;
        let file = self.sources.get(source as usize)?;
        Some((file, source_line + 1, source_column + 1))
    }
}

/// Rewrites `(key:line:col)` positions in a stack whose key has a map.
pub(crate) fn map_stack(
    stack: &str,
    maps: &mut HashMap<String, DecodedMap>,
    source_map_of: impl Fn(&str) -> Option<String>,
    first_line_offset: u32,
) -> String {
    let mut out = String::with_capacity(stack.len());
    for line in stack.split_inclusive('\n') {
        out.push_str(
            &map_frame(line, maps, &source_map_of, first_line_offset)
                .unwrap_or_else(|| line.to_owned()),
        );
    }
    out
}

fn map_frame(
    line: &str,
    maps: &mut HashMap<String, DecodedMap>,
    source_map_of: &impl Fn(&str) -> Option<String>,
    first_line_offset: u32,
) -> Option<String> {
    let open = line.rfind('(')?;
    let close = open + line[open..].find(')')?;
    let location = &line[open + 1..close];
    let mut parts = location.rsplitn(3, ':');
    let column: u32 = parts.next()?.parse().ok()?;
    let row: u32 = parts.next()?.parse().ok()?;
    let key = parts.next()?;
    if !maps.contains_key(key) {
        let map = DecodedMap::parse(&source_map_of(key)?);
        maps.insert(key.to_owned(), map);
    }
    // The module wrapper sits on the first line, ahead of the code.
    let column = if row == 1 {
        column.saturating_sub(first_line_offset)
    } else {
        column
    };
    let (file, original_line, original_column) = maps.get(key)?.original(row, column)?;
    Some(format!(
        "{}({file}:{original_line}:{original_column}){}",
        &line[..open],
        &line[close + 1..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_maps() {
        // Generated line 1 maps to source line 1; generated line 3 col 2 maps to source line 2 col 4.
        let map = DecodedMap::parse(r#"{"version":3,"sources":["a.ts"],"mappings":"AAAA;;EACE"}"#);
        assert_eq!(map.original(1, 1), Some(("a.ts", 1, 1)));
        assert_eq!(map.original(3, 5), Some(("a.ts", 2, 3)));
        assert_eq!(map.original(9, 1), None);
        let mut maps = HashMap::new();
        let stack = "    at f (a.js:3:5)\n    at g (native)\n";
        let mapped = map_stack(
            stack,
            &mut maps,
            |_| Some(r#"{"sources":["a.ts"],"mappings":"AAAA;;EACE"}"#.to_owned()),
            0,
        );
        assert_eq!(mapped, "    at f (a.ts:2:3)\n    at g (native)\n");
    }

    #[test]
    fn garbage_maps_change_nothing() {
        let mut maps = HashMap::new();
        let stack = "    at f (a.js:3:5)";
        assert_eq!(
            map_stack(stack, &mut maps, |_| Some("{".to_owned()), 0),
            stack
        );
        assert!(vlq_values("!!").is_none());
    }
}
