//! Plain-text tables for people: a header row, then one line per row, columns
//! two spaces apart and each padded to its widest cell.

/// Lays out `rows` under `header`. Columns from `right_from` on are
/// right-aligned (numbers); pass `N` to align every column left. Every line
/// starts with `indent` and has no trailing spaces.
pub fn render<const N: usize>(
    header: [&str; N],
    rows: &[[String; N]],
    indent: &str,
    right_from: usize,
) -> String {
    let widths: [usize; N] = std::array::from_fn(|i| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].chars().count()])
            .max()
            .unwrap_or(0)
    });
    let line = |cells: [&str; N]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                if i >= right_from {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        format!("{indent}{}", padded.join("  "))
            .trim_end()
            .to_string()
            + "\n"
    };
    let mut out = line(header);
    for row in rows {
        out.push_str(&line(std::array::from_fn(|i| row[i].as_str())));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_columns_to_the_widest_cell_and_aligns_numbers_right() {
        let rows = [
            ["alpha".to_string(), "7".to_string()],
            ["b".to_string(), "1234".to_string()],
        ];
        let text = render(["name", "count"], &rows, "  ", 1);
        assert_eq!(
            text, "  name   count\n  alpha      7\n  b       1234\n",
            "{text}"
        );
    }

    #[test]
    fn leaves_no_trailing_spaces_after_an_empty_last_cell() {
        let rows = [["long name".to_string(), String::new()]];
        let text = render(["a", "b"], &rows, "", 2);
        assert_eq!(text, "a          b\nlong name\n");
    }
}
