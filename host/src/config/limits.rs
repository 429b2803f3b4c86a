//! Limits checked on a config file's text before it is parsed, so that a
//! huge or deeply nested file is refused at once instead of taking minutes
//! and gigabytes in the YAML parser.

use std::path::Path;

/// The largest config file accepted (16 MiB).
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// The deepest nesting of mappings and lists accepted. Real configs nest
/// 4 to 8 levels (`plugins.<key>.params.<param>...`).
pub const MAX_CONFIG_DEPTH: usize = 64;

/// Reads a config file of at most [`MAX_CONFIG_BYTES`]; a larger one is an
/// `InvalidData` error that says so.
pub fn read_config_file(path: &Path) -> std::io::Result<String> {
    let bytes = cloudmarker_plugin_api::sdk::files::read_limited(path, MAX_CONFIG_BYTES)?;
    String::from_utf8(bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file is not UTF-8 text: {e}"),
        )
    })
}

/// An estimate, from the text alone, of how deeply a YAML document nests
/// mappings and lists: block nesting by indentation and `- ` entries, plus
/// flow nesting by `[` and `{` outside quotes and comments. Block scalars
/// (`|`, `>`) are skipped. It never underestimates a document the parser
/// would accept, so comparing it with a limit is safe.
pub fn nesting_depth(text: &str) -> usize {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut deepest = 0usize;
    let mut block_scalar_indent: Option<usize> = None;
    for line in text.lines() {
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(parent) = block_scalar_indent {
            if indent > parent {
                continue;
            }
            block_scalar_indent = None;
        }
        let mut block = 0;
        if flow == 0 {
            while indents.last().is_some_and(|&top| top >= indent) {
                indents.pop();
            }
            indents.push(indent);
            block = indents.len();
        }
        // `- - - x` opens one list per dash.
        let mut rest = content;
        while let Some(after) = rest.strip_prefix("- ").or(rest.strip_prefix("-\t")) {
            block += 1;
            rest = after.trim_start();
        }
        let (flow_max, flow_end) = scan_flow(rest, flow);
        flow = flow_end;
        deepest = deepest.max(block.max(indents.len()) + flow_max);
        if flow == 0 && ends_with_block_scalar(rest) {
            block_scalar_indent = Some(indent);
        }
    }
    deepest
}

/// The deepest flow nesting on a line and the nesting at its end.
fn scan_flow(line: &str, mut depth: usize) -> (usize, usize) {
    let mut deepest = depth;
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if previous.is_whitespace() || "[{,:".contains(previous) => {
                quote = Some(c)
            }
            (None, '#') if previous.is_whitespace() => break,
            (None, '[' | '{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = c;
    }
    (deepest, depth)
}

/// Whether a line's value is a block scalar header (`key: |`, `- >-`).
fn ends_with_block_scalar(line: &str) -> bool {
    let value = line.split(" #").next().unwrap_or("").trim_end();
    let header = value.rsplit([' ', '\t']).next().unwrap_or("");
    let mut chars = header.chars();
    matches!(chars.next(), Some('|' | '>'))
        && chars.all(|c| c.is_ascii_digit() || c == '-' || c == '+')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_of_ordinary_configs() {
        assert_eq!(nesting_depth(""), 0);
        assert_eq!(nesting_depth("run: [a, b]"), 2);
        let config =
            "plugins:\n  a:\n    plugin: x\n    params:\n      n: 1\naudits:\n  m: {clouds: [a]}\n";
        assert_eq!(nesting_depth(config), 4);
        assert!(nesting_depth(super::super::BASE_CONFIG) < 10);
    }

    #[test]
    fn deep_block_flow_and_dash_nesting_are_counted() {
        let block: String = (0..100)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert!(nesting_depth(&block) >= 100);
        let flow = format!("a: {}{}", "[".repeat(200), "]".repeat(200));
        assert!(nesting_depth(&flow) >= 200);
        let dashes = format!("a:\n  {}x", "- ".repeat(90));
        assert!(nesting_depth(&dashes) >= 90);
        let multiline_flow = format!("a: {}\n{}", "{b: ".repeat(70), "}".repeat(70));
        assert!(nesting_depth(&multiline_flow) >= 70);
    }

    #[test]
    fn brackets_in_strings_comments_and_block_scalars_do_not_count() {
        let text = "a: \"[[[[[[\"\nb: '{{{{' # [[[[[[[\nc: |\n  [[[[[[[[[[\n      {{{{{{{{\nd: 1\n";
        assert_eq!(nesting_depth(text), 1);
    }

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_CONFIG_BYTES + 1).unwrap();
        let err = read_config_file(&path).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("16 MiB"), "{err}");
        std::fs::write(&path, "run: []").unwrap();
        assert_eq!(read_config_file(&path).unwrap(), "run: []");
    }
}
