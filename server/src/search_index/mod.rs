//! The full-text index: one tantivy document per issue (title, description and comments),
//! derived from the store. The activity sequence it has caught up to is committed with it, so
//! after a crash it resumes from there. The service queries it; the indexer (`search`) feeds it.

pub mod highlight;

use std::path::Path;
use std::sync::Mutex;
use std::sync::PoisonError;

use tack_protocol::{IssueId, ProjectId};
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TEXT, TantivyDocument, Value,
};
use tantivy::tokenizer::TokenStream;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term, doc};

/// Memory for the index writer's buffer: one thread is plenty for issues trickling in, and a
/// small buffer only means more, smaller segments for the merger.
const WRITER_HEAP: usize = 20 * 1024 * 1024;

/// Runs `f`, turning a panic inside tantivy (damaged files can make it overflow) into an error.
fn contained<T>(f: impl FnOnce() -> Result<T, SearchError>) -> Result<T, SearchError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into());
        Err(SearchError::Damaged(reason))
    })
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the index files are damaged: {0}")]
    Damaged(String),
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index: cannot open the directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    project: Field,
    title: Field,
    description: Field,
    comments: Field,
}

/// What is indexed of one issue.
pub struct IndexDoc {
    pub id: IssueId,
    pub project: ProjectId,
    pub title: String,
    pub description: String,
    pub comments: String,
}

/// The stored text of a hit, for snippets.
pub struct StoredText {
    pub title: String,
    pub description: String,
    pub comments: String,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let fields = Fields {
        id: builder.add_u64_field("id", INDEXED | STORED | FAST),
        project: builder.add_u64_field("project", INDEXED | FAST),
        title: builder.add_text_field("title", TEXT | STORED),
        description: builder.add_text_field("description", TEXT | STORED),
        comments: builder.add_text_field("comments", TEXT | STORED),
    };
    (builder.build(), fields)
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if it is missing. An index that cannot be read is
    /// thrown away and rebuilt (it is derived from the store: nothing is lost).
    /// Opens the index in `dir` for a store whose last event is `store_seq`. An index that
    /// cannot be opened, or that is ahead of the store (the store was restored or replaced), is
    /// derived state: it is thrown away and rebuilt from the store.
    pub fn open(dir: &Path, store_seq: u64) -> Result<SearchIndex, SearchError> {
        match contained(|| Self::open_dir(dir)) {
            Ok(index) if index.watermark() <= store_seq => Ok(index),
            Ok(index) => {
                tracing::warn!(dir = %dir.display(), index = index.watermark(), store = store_seq, "the search index is ahead of the store; rebuilding it");
                drop(index);
                Self::rebuild(dir)
            }
            Err(err) => {
                tracing::warn!(dir = %dir.display(), error = %err, "the search index cannot be opened; rebuilding it from the store");
                Self::rebuild(dir)
            }
        }
    }

    fn rebuild(dir: &Path) -> Result<SearchIndex, SearchError> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        Self::open_dir(dir)
    }

    /// Checks the index in `dir` without changing it: every segment opens and its documents
    /// can be counted. Returns (documents, watermark).
    pub fn check(dir: &Path) -> Result<(u64, u64), SearchError> {
        contained(|| Self::check_dir(dir))
    }

    fn check_dir(dir: &Path) -> Result<(u64, u64), SearchError> {
        let index = Index::open_in_dir(dir)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searcher: tantivy::Searcher = reader.searcher();
        for segment in searcher.segment_readers() {
            // Reading every stored document touches every segment's files.
            let store = segment.get_store_reader(0)?;
            for doc in store.iter::<tantivy::TantivyDocument>(segment.alive_bitset()) {
                doc?;
            }
        }
        let watermark = index
            .load_metas()?
            .payload
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        Ok((searcher.num_docs(), watermark))
    }

    fn open_dir(dir: &Path) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let index = match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema => index,
            Ok(_) | Err(_) if dir.join("meta.json").exists() => {
                tracing::warn!(dir = %dir.display(), "the search index is unreadable or outdated; rebuilding it");
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                Index::create_in_dir(dir, schema)?
            }
            _ => Index::create_in_dir(dir, schema)?,
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = index.writer_with_num_threads(1, WRITER_HEAP)?;
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    /// The activity sequence the committed index reflects.
    pub fn watermark(&self) -> u64 {
        self.index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Replaces the documents of `docs`, removes `deleted`, and commits with `watermark`.
    pub fn apply(
        &self,
        docs: Vec<IndexDoc>,
        deleted: &[IssueId],
        watermark: u64,
    ) -> Result<(), SearchError> {
        let f = self.fields;
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        for id in deleted {
            writer.delete_term(Term::from_field_u64(f.id, *id));
        }
        for d in docs {
            writer.delete_term(Term::from_field_u64(f.id, d.id));
            writer.add_document(doc!(
                f.id => d.id,
                f.project => d.project,
                f.title => d.title,
                f.description => d.description,
                f.comments => d.comments,
            ))?;
        }
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&watermark.to_string());
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Empties the index (a rebuild follows).
    pub fn clear(&self) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        writer.delete_all_documents()?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload("0");
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// The words of `text`, as the index tokenizes them.
    pub fn words(&self, text: &str) -> Vec<String> {
        let Ok(mut tokenizer) = self.index.tokenizer_for_field(self.fields.title) else {
            return Vec::new();
        };
        let mut stream = tokenizer.token_stream(text);
        let mut words = Vec::new();
        while stream.advance() {
            let word = stream.token().text.clone();
            if !words.contains(&word) {
                words.push(word);
            }
        }
        words
    }

    /// A word, or a word it starts, in any field: what a query's text term filters by.
    fn prefix_query(&self, word: &str) -> Box<dyn Query> {
        let f = self.fields;
        let any: Vec<(Occur, Box<dyn Query>)> = [f.title, f.description, f.comments]
            .into_iter()
            .map(|field| {
                let term = Term::from_field_text(field, word);
                let query: Box<dyn Query> = Box::new(FuzzyTermQuery::new_prefix(term, 0, true));
                (Occur::Should, query)
            })
            .collect();
        Box::new(BooleanQuery::new(any))
    }

    fn word_query(&self, word: &str) -> Box<dyn Query> {
        let f = self.fields;
        let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, boost) in [(f.title, 3.0), (f.description, 1.0), (f.comments, 1.0)] {
            let term = Term::from_field_text(field, word);
            any.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                    boost * 2.0,
                )),
            ));
            // "crash" finds "crashes"; a typo still finds the word.
            any.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(FuzzyTermQuery::new_prefix(term.clone(), 0, true)),
                    boost,
                )),
            ));
            if word.chars().count() >= 4 {
                let distance = if word.chars().count() >= 8 { 2 } else { 1 };
                any.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(FuzzyTermQuery::new(term, distance, true)),
                        boost * 0.5,
                    )),
                ));
            }
        }
        Box::new(BooleanQuery::new(any))
    }

    fn query_for(&self, words: &[String], projects: &[ProjectId], ranked: bool) -> BooleanQuery {
        let f = self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = words
            .iter()
            .map(|w| {
                let query = if ranked {
                    self.word_query(w)
                } else {
                    self.prefix_query(w)
                };
                (Occur::Must, query)
            })
            .collect();
        // Never an issue of a project the caller cannot read.
        must.push((
            Occur::Must,
            Box::new(TermSetQuery::new(
                projects.iter().map(|p| Term::from_field_u64(f.project, *p)),
            )),
        ));
        BooleanQuery::new(must)
    }

    /// The issue id of a hit, from the fast field (no stored document is read).
    fn id_of(searcher: &tantivy::Searcher, address: tantivy::DocAddress) -> Option<IssueId> {
        searcher
            .segment_reader(address.segment_ord)
            .fast_fields()
            .u64("id")
            .ok()?
            .first(address.doc_id)
    }

    /// Every issue with all the words of `text` (or words they start) in `projects`, unranked:
    /// what a query's text filters by. Typos are for ranked search, where a near miss is shown
    /// below the exact hits rather than mixed into a filter.
    pub fn matching(&self, text: &str, projects: &[ProjectId]) -> Result<IdSet, SearchError> {
        let words = self.words(text);
        if words.is_empty() || projects.is_empty() {
            return Ok(IdSet::default());
        }
        let searcher = self.reader.searcher();
        let ids = searcher.search(&self.query_for(&words, projects, false), &IdCollector)?;
        Ok(IdSet::from_ids(&ids))
    }

    /// Issues matching every word of `text` in `projects`, best first.
    pub fn search(
        &self,
        text: &str,
        projects: &[ProjectId],
        limit: usize,
    ) -> Result<Vec<(IssueId, f32)>, SearchError> {
        let words = self.words(text);
        if words.is_empty() || projects.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &self.query_for(&words, projects, true),
            &TopDocs::with_limit(limit),
        )?;
        Ok(top
            .into_iter()
            .filter_map(|(score, address)| Self::id_of(&searcher, address).map(|id| (id, score)))
            .collect())
    }

    /// The stored text of an issue, for snippets.
    pub fn stored(&self, id: IssueId) -> Result<Option<StoredText>, SearchError> {
        let f = self.fields;
        let searcher = self.reader.searcher();
        let query = TermQuery::new(Term::from_field_u64(f.id, id), IndexRecordOption::Basic);
        let Some((_, address)) = searcher
            .search(&query, &TopDocs::with_limit(1))?
            .first()
            .copied()
        else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(address)?;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        Ok(Some(StoredText {
            title: text(f.title),
            description: text(f.description),
            comments: text(f.comments),
        }))
    }

    pub fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}

/// Issue ids as a bitmap: built and probed in a few nanoseconds per id, where a query's text
/// may match most of a large project.
#[derive(Debug, Clone, Default)]
pub struct IdSet {
    words: Vec<u64>,
}

impl IdSet {
    pub fn from_ids(ids: &[IssueId]) -> IdSet {
        let max = ids.iter().copied().max().unwrap_or(0) as usize;
        let mut words = vec![0u64; if ids.is_empty() { 0 } else { max / 64 + 1 }];
        for id in ids {
            words[*id as usize / 64] |= 1 << (id % 64);
        }
        IdSet { words }
    }

    pub fn contains(&self, id: IssueId) -> bool {
        self.words
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
}

/// Collects the issue id (a fast field) of every matching document, without scores.
struct IdCollector;

struct IdSegmentCollector {
    ids: Option<tantivy::columnar::Column<u64>>,
    found: Vec<IssueId>,
}

impl tantivy::collector::Collector for IdCollector {
    type Fruit = Vec<IssueId>;
    type Child = IdSegmentCollector;

    fn for_segment(
        &self,
        _segment: tantivy::SegmentOrdinal,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<IdSegmentCollector> {
        Ok(IdSegmentCollector {
            ids: reader.fast_fields().u64("id").ok(),
            found: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<IssueId>>) -> tantivy::Result<Vec<IssueId>> {
        Ok(fruits.concat())
    }
}

impl tantivy::collector::SegmentCollector for IdSegmentCollector {
    type Fruit = Vec<IssueId>;

    fn collect(&mut self, doc: tantivy::DocId, _score: tantivy::Score) {
        if let Some(id) = self.ids.as_ref().and_then(|c| c.first(doc)) {
            self.found.push(id);
        }
    }

    fn harvest(self) -> Vec<IssueId> {
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::IdSet;

    #[test]
    fn an_id_set_holds_exactly_its_ids() {
        let set = IdSet::from_ids(&[1, 64, 65, 1000]);
        for id in [1, 64, 65, 1000] {
            assert!(set.contains(id));
        }
        for id in [0, 2, 63, 66, 999, 1001, 100_000] {
            assert!(!set.contains(id));
        }
        assert!(!IdSet::default().contains(0));
    }
}
