//! The text of `fleet.toml` as diagnostics see it: a line index built once per file, so
//! that locating and rendering any number of diagnostics costs time proportional to what is
//! printed, not to the file's size.
//!
//! miette's own [`SourceCode`] for `str` scans from the start of the file up to each span:
//! one warning per WEC on a 5,000-WEC file was quadratic (seconds). [`SourceFile`] finds the
//! lines of a span by binary search and hands miette only those lines, so its output is the
//! same, byte for byte. Lines longer than [`LONG_WINDOW`] are cut around the span, so a 1 MB
//! value is not printed whole in every snippet that touches its line.

use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use super::diagnostic::is_unsafe;

/// A window of at most this many bytes (the span's lines and their context) is rendered
/// as miette renders it; larger ones are cut to the span's own lines, around the span.
pub const LONG_WINDOW: usize = 2048;
/// Bytes shown on each side of a span on a cut line.
const CUT_MARGIN: usize = 120;
/// Labels are underlined over at most this many bytes (the rest of a huge value is not).
pub const MAX_LABEL: usize = 256;
/// Distance between the char-count checkpoints of [`SourceFile::column`].
const CHECKPOINT: usize = 4096;

/// A named file with its line index. Cheap to share: diagnostics hold an `Arc` of it.
#[derive(Debug)]
pub struct SourceFile {
    name: String,
    text: Arc<str>,
    /// What snippets show when `text` has characters that would act on a terminal (escape
    /// sequences, bidirectional overrides): a copy with each replaced by visible characters
    /// of the same byte length, so that every offset still holds.
    shown: Option<Arc<str>>,
    /// Byte offset where each line starts: 0, then after every `\n` (or `\r\n`).
    starts: Vec<usize>,
    /// `(byte offset, chars before it)` every [`CHECKPOINT`] bytes, on char boundaries.
    checkpoints: Vec<(usize, usize)>,
}

impl SourceFile {
    /// Indexes `text`, named `name` in diagnostics. Linear in the text's length.
    pub fn new(name: impl Into<String>, text: Arc<str>) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    i += 1;
                    starts.push(i + 1);
                }
                // A lone `\r` is not a line break (TOML has none); snippets show it as `?`.
                _ => {}
            }
            i += 1;
        }
        let mut checkpoints = Vec::with_capacity(text.len() / CHECKPOINT + 1);
        let (mut at, mut chars) = (0, 0);
        while at < text.len() {
            checkpoints.push((at, chars));
            let mut next = (at + CHECKPOINT).min(text.len());
            while !text.is_char_boundary(next) {
                next += 1;
            }
            chars += text[at..next].chars().count();
            at = next;
        }
        let lone_cr = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
        let unsafe_at = |(i, c): (usize, char)| {
            (is_unsafe(c) && !matches!(c, '\n' | '\r')) || (c == '\r' && lone_cr(i))
        };
        let shown = text.char_indices().any(unsafe_at).then(|| {
            // Each replaced by one visible character of the same byte length.
            let safe: String = text
                .char_indices()
                .map(|(i, c)| match (unsafe_at((i, c)), c.len_utf8()) {
                    (false, _) => c,
                    (true, 1) => '?',
                    (true, 2) => '\u{bf}',
                    (true, _) => '\u{fffd}',
                })
                .collect();
            debug_assert_eq!(safe.len(), text.len());
            Arc::from(safe)
        });
        SourceFile {
            name: name.into(),
            text,
            shown,
            starts,
            checkpoints,
        }
    }

    /// A copy with the bytes of `ranges` (widened to whole characters) shown as `*`, line
    /// breaks kept: offsets, lines and columns are unchanged.
    pub fn redacted(&self, ranges: &[std::ops::Range<usize>]) -> SourceFile {
        let mut bytes = self.text.as_bytes().to_vec();
        for range in ranges {
            let mut start = range.start.min(bytes.len());
            while !self.text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = range.end.min(bytes.len());
            while !self.text.is_char_boundary(end) {
                end += 1;
            }
            for b in &mut bytes[start..end] {
                if !matches!(*b, b'\n' | b'\r') {
                    *b = b'*';
                }
            }
        }
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        SourceFile::new(self.name.clone(), Arc::from(text))
    }

    /// The file's name as diagnostics print it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// 0-based line of byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset) - 1
    }

    /// Where line `line` starts (0-based).
    fn start_of(&self, line: usize) -> usize {
        self.starts[line]
    }

    /// Where line `line` ends, its line break excluded.
    fn content_end_of(&self, line: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut end = self.starts.get(line + 1).copied().unwrap_or(bytes.len());
        if end > self.starts[line] && bytes.get(end - 1) == Some(&b'\n') {
            end -= 1;
        }
        if end > self.starts[line] && bytes.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        end
    }

    /// Chars before byte `offset` (which must be a char boundary).
    fn chars_before(&self, offset: usize) -> usize {
        let i = self.checkpoints.partition_point(|&(at, _)| at <= offset);
        let (at, chars) = if i == 0 {
            (0, 0)
        } else {
            self.checkpoints[i - 1]
        };
        chars + self.text[at..offset].chars().count()
    }

    /// 1-based line and column (in characters) of byte `offset`; `None` when `offset` is
    /// past the end or inside a character.
    pub fn line_column(&self, offset: usize) -> Option<(usize, usize)> {
        if offset > self.text.len() || !self.text.is_char_boundary(offset) {
            return None;
        }
        let line = self.line_of(offset);
        let start = self.start_of(line);
        if !self.text.is_char_boundary(start) {
            return None;
        }
        Some((
            line + 1,
            self.chars_before(offset) - self.chars_before(start) + 1,
        ))
    }

    /// `span` shortened to at most [`MAX_LABEL`] bytes, ending on a char boundary.
    pub fn clamp_label(&self, offset: usize, len: usize) -> (usize, usize) {
        if len <= MAX_LABEL || offset >= self.text.len() {
            return (offset, len);
        }
        let mut end = (offset + MAX_LABEL).min(self.text.len());
        while end > offset && !self.text.is_char_boundary(end) {
            end -= 1;
        }
        (offset, (end - offset).max(1))
    }

    fn named<'a>(
        &'a self,
        data: &'a [u8],
        offset: usize,
        line: usize,
        column: usize,
        line_count: usize,
    ) -> Box<dyn SpanContents<'a> + 'a> {
        Box::new(
            MietteSpanContents::new_named(
                self.name.clone(),
                data,
                SourceSpan::new(offset.into(), data.len()),
                line,
                column,
                line_count,
            )
            .with_language("TOML"),
        )
    }
}

impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let bytes = self.shown.as_deref().unwrap_or(&self.text).as_bytes();
        let start = span.offset();
        if start > bytes.len() {
            return Err(MietteError::OutOfBounds);
        }
        // miette accepts a span reaching one byte past the end; the reading below decides.
        let end = start.saturating_add(span.len()).min(bytes.len());
        let first = self.line_of(start);
        let last = self.line_of(end.saturating_sub(1).max(start));
        let lines = self.starts.len();
        let low = first.saturating_sub(context_lines_before);
        let high = (last + context_lines_after).min(lines - 1);
        let window_end = self.starts.get(high + 1).copied().unwrap_or(bytes.len());

        if window_end - self.start_of(low) <= LONG_WINDOW {
            // miette's own reading of these lines (one more line before, so that its
            // reading starts on a line it counts the same way), moved to where they are.
            let skipped = low.saturating_sub(1);
            let from = self.start_of(skipped);
            let until = self.starts.get(high + 2).copied().unwrap_or(bytes.len());
            let window = &bytes[from..until];
            let local = SourceSpan::new((start - from).into(), span.len());
            let read = <[u8] as SourceCode>::read_span(
                window,
                &local,
                context_lines_before,
                context_lines_after,
            )?;
            return Ok(self.named(
                read.data(),
                read.span().offset() + from,
                read.line() + skipped,
                read.column(),
                read.line_count() + skipped,
            ));
        }

        // A long line: only the span's own lines, cut to a margin around the span.
        let line_start = self.start_of(first);
        let mut from = start.saturating_sub(CUT_MARGIN).max(line_start);
        while from > line_start && !self.text.is_char_boundary(from) {
            from -= 1;
        }
        let line_end = self.content_end_of(last).max(end);
        let mut until = end.saturating_add(CUT_MARGIN).min(line_end);
        while until < line_end && !self.text.is_char_boundary(until) {
            until += 1;
        }
        Ok(self.named(
            &bytes[from..until],
            from,
            first,
            if context_lines_before == 0 {
                start - line_start
            } else {
                0
            },
            last + 1,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(text: &str) -> SourceFile {
        SourceFile::new("fleet.toml", Arc::from(text))
    }

    #[test]
    fn line_columns_count_characters() {
        let f = file("a = 1\nbé = \"x\"\r\n\nc");
        assert_eq!(f.line_column(0), Some((1, 1)));
        assert_eq!(f.line_column(6), Some((2, 1)));
        assert_eq!(f.line_column(9), Some((2, 3)));
        assert_eq!(f.line_column(8), None, "inside é");
        assert_eq!(f.line_column(18), Some((4, 1)));
        assert_eq!(f.line_column(19), Some((4, 2)));
        assert_eq!(f.line_column(20), None);
    }

    #[test]
    fn columns_past_checkpoints() {
        let text = format!("{}\n{}x", "é".repeat(5000), "ü".repeat(3000));
        let f = file(&text);
        let x = text.find('x').unwrap();
        assert_eq!(f.line_column(x), Some((2, 3001)));
    }

    #[test]
    fn long_lines_are_cut_around_the_span() {
        let text = format!("a = \"{}\"\nb = 1\n", "v".repeat(1_000_000));
        let f = file(&text);
        let read = f.read_span(&SourceSpan::new(4.into(), 256), 1, 1).unwrap();
        assert!(read.data().len() < 600, "{}", read.data().len());
        assert_eq!(read.line(), 0);
    }

    fn same(text: &str, offset: usize, len: usize, before: usize, after: usize) {
        let f = file(text);
        let span = SourceSpan::new(offset.into(), len);
        let ours = f.read_span(&span, before, after);
        // What miette reads in the whole text as snippets show it (a lone `\r` as `?`).
        let shown = f.shown.as_deref().unwrap_or(text);
        // miette panics on some spans past the end; those only have to not panic here.
        let Ok(theirs) = std::panic::catch_unwind(|| {
            shown.read_span(&span, before, after).map(|t| {
                (
                    t.data().to_vec(),
                    *t.span(),
                    t.line(),
                    t.column(),
                    t.line_count(),
                )
            })
        }) else {
            return;
        };
        let ours = ours.map(|o| {
            (
                o.data().to_vec(),
                *o.span(),
                o.line(),
                o.column(),
                o.line_count(),
            )
        });
        match (ours, theirs) {
            (Ok(o), Ok(t)) => assert_eq!(
                o, t,
                "{offset}+{len} ({before}, {after}) in {text:?}: (data, span, line, column, lines)"
            ),
            (Err(_), Err(_)) => {}
            // Spans starting past the end are refused (miette sometimes reads them).
            (Err(_), Ok(_)) if offset > text.len() => {}
            (o, t) => panic!(
                "{offset}+{len} in {text:?}: ours {:?}, miette's {:?}",
                o.is_ok(),
                t.is_ok()
            ),
        }
    }

    #[test]
    fn reads_like_miette_at_the_edges() {
        for text in [
            "",
            "a",
            "a\n",
            "\n\n",
            "a\r\nb\r\n",
            "a\rb\r\nc\n",
            "[its]\n\r\n",
        ] {
            for offset in 0..=text.len() + 1 {
                for len in 0..=text.len() + 1 - offset.min(text.len() + 1) {
                    for ctx in 0..3 {
                        same(text, offset, len, ctx, ctx);
                    }
                }
            }
        }
    }

    proptest! {
        /// Short windows are read exactly as miette reads the whole text.
        #[test]
        fn reads_like_miette(
            text in "([a-z =\"\\[\\]]{0,12}(\n|\r\n|\r)?){0,12}",
            offset in 0usize..200,
            len in 0usize..40,
            before in 0usize..3,
            after in 0usize..3,
        ) {
            same(&text, offset.min(text.len()), len, before, after);
        }
    }
}
