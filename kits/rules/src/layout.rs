//! Where each rule of a file starts, and where its keys are, for problems
//! that name a line: serde_norway locates syntax errors but gives values no
//! positions, so the rules' lines are found by scanning the text. This
//! reads block-style YAML (`rules:` then `- id: ...` items), the style of
//! every rule file; for any other layout a rule's problems name no line.

/// The lines (1-based) of the items of the top-level `rules:` list.
#[derive(Debug, Default)]
pub(crate) struct Layout<'t> {
    lines: Vec<&'t str>,
    /// (first line index, content indent) of each item.
    items: Vec<(usize, usize)>,
    /// The line index of `rules:`.
    rules_key: Option<usize>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

impl<'t> Layout<'t> {
    pub fn of(text: &'t str) -> Self {
        let lines: Vec<&str> = text.lines().collect();
        let mut layout = Self {
            lines,
            ..Self::default()
        };
        let Some(start) = layout
            .lines
            .iter()
            .position(|l| l.strip_prefix("rules:").is_some_and(is_blank_or_comment))
        else {
            return layout;
        };
        layout.rules_key = Some(start);
        let mut item_indent = None;
        for (i, line) in layout.lines.iter().enumerate().skip(start + 1) {
            if is_blank_or_comment(line) {
                continue;
            }
            let at = indent(line);
            let rest = &line[at..];
            let is_item = rest == "-" || rest.starts_with("- ");
            match item_indent {
                None if is_item => item_indent = Some(at),
                None => break,
                Some(n) if at == n && is_item => {}
                Some(n) if at > n => continue,
                // Another top-level key, or the list ended.
                Some(_) => break,
            }
            // The item's keys start after "- " (or on the next line).
            let content = rest[1..].trim_start_matches(' ');
            let content_indent = if content.is_empty() {
                at + 2
            } else {
                line.len() - content.len()
            };
            layout.items.push((i, content_indent));
        }
        layout
    }

    /// The line of the `rules:` key.
    pub fn rules_line(&self) -> Option<usize> {
        self.rules_key.map(|i| i + 1)
    }

    /// The first line of item `n`, if the scan found exactly `count` items.
    pub fn item_line(&self, n: usize, count: usize) -> Option<usize> {
        (self.items.len() == count).then(|| self.items.get(n).map(|(i, _)| i + 1))?
    }

    /// The line of the key `key` of item `n` (a key of the rule itself, not
    /// of a nested mapping); else the item's first line.
    pub fn key_line(&self, n: usize, count: usize, key: &str) -> Option<usize> {
        let first = self.item_line(n, count)?;
        let (start, content_indent) = self.items[n];
        let end = self
            .items
            .get(n + 1)
            .map_or(self.lines.len(), |(next, _)| *next);
        for i in start..end {
            let line = self.lines[i];
            let (at, rest) = if i == start {
                (content_indent, line.get(content_indent..).unwrap_or(""))
            } else {
                let at = indent(line);
                (at, &line[at..])
            };
            if at == content_indent
                && rest
                    .strip_prefix(key)
                    .is_some_and(|after| after.starts_with(':'))
            {
                return Some(i + 1);
            }
        }
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# A pack.
rules:
  # first
  - id: a
    fail: x
    tests:
      fail: []
  -
    id: b
    title: t
    fail: >-
      y
other: 1
";

    #[test]
    fn items_and_their_keys_are_found() {
        let layout = Layout::of(TEXT);
        assert_eq!(layout.rules_line(), Some(2));
        assert_eq!(layout.item_line(0, 2), Some(4));
        assert_eq!(layout.item_line(1, 2), Some(8));
        assert_eq!(layout.item_line(1, 3), None, "a count that disagrees");
        assert_eq!(layout.key_line(0, 2, "id"), Some(4));
        // The rule's own `fail`, not the one under `tests`.
        assert_eq!(layout.key_line(0, 2, "fail"), Some(5));
        assert_eq!(layout.key_line(1, 2, "fail"), Some(11));
        assert_eq!(layout.key_line(1, 2, "when"), Some(8), "absent: the item");
    }

    #[test]
    fn items_at_column_zero() {
        let layout = Layout::of("rules:\n- id: a\n  fail: x\n- id: b\n");
        assert_eq!(layout.item_line(1, 2), Some(4));
        assert_eq!(layout.key_line(0, 2, "fail"), Some(3));
    }
}
