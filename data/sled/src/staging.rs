//! The writer's staging area: changes staged over the trees, read back as if applied. Writes
//! already kept in the batch and the write being applied are held apart, so a refused write
//! leaves nothing behind.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::WriteError;
use crate::trees::{T, Trees};

type Change = Option<Vec<u8>>;
type StagedKey = (usize, Vec<u8>);

/// The smallest key greater than every key that starts with `prefix` (None: there is none).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn engine(err: sled::Error) -> WriteError {
    crate::engine_error(err).into()
}

/// Changes staged over the trees: those of writes already kept in the batch, and those of the
/// write being applied (apart, so that a refusal can drop them).
pub struct Tx<'a> {
    trees: &'a Trees,
    batch: BTreeMap<StagedKey, Change>,
    pending: RefCell<BTreeMap<StagedKey, Change>>,
}

impl<'a> Tx<'a> {
    pub fn new(trees: &'a Trees) -> Self {
        Tx {
            trees,
            batch: BTreeMap::new(),
            pending: RefCell::new(BTreeMap::new()),
        }
    }

    /// Keeps the current write's changes as part of the batch.
    pub fn keep_write(&mut self) {
        let pending = std::mem::take(self.pending.get_mut());
        self.batch.extend(pending);
    }

    pub fn drop_write(&mut self) {
        self.pending.get_mut().clear();
    }

    /// Everything staged, to be written in one transaction.
    pub fn into_changes(self) -> Vec<(usize, Vec<u8>, Change)> {
        self.batch
            .into_iter()
            .map(|((tree, key), value)| (tree, key, value))
            .collect()
    }

    fn staged(&self, tree: T, key: &[u8]) -> Option<Change> {
        let probe = (tree as usize, key.to_vec());
        if let Some(change) = self.pending.borrow().get(&probe) {
            return Some(change.clone());
        }
        self.batch.get(&probe).cloned()
    }

    pub(crate) fn get(&self, tree: T, key: &[u8]) -> Result<Option<Vec<u8>>, WriteError> {
        match self.staged(tree, key) {
            Some(change) => Ok(change),
            None => Ok(self
                .trees
                .get(tree)
                .get(key)
                .map_err(engine)?
                .map(|v| v.to_vec())),
        }
    }

    pub(crate) fn put(&self, tree: T, key: &[u8], value: &[u8]) -> Result<(), WriteError> {
        self.pending
            .borrow_mut()
            .insert((tree as usize, key.to_vec()), Some(value.to_vec()));
        Ok(())
    }

    pub(crate) fn del(&self, tree: T, key: &[u8]) -> Result<(), WriteError> {
        self.pending
            .borrow_mut()
            .insert((tree as usize, key.to_vec()), None);
        Ok(())
    }

    fn staged_under(&self, tree: T, prefix: &[u8]) -> bool {
        let t = tree as usize;
        let start = (t, prefix.to_vec());
        let hit = |staged: &BTreeMap<StagedKey, Change>| {
            staged
                .range(start.clone()..)
                .next()
                .is_some_and(|((st, k), _)| *st == t && k.starts_with(prefix))
        };
        hit(&self.batch) || hit(&self.pending.borrow())
    }

    /// Keys under `prefix`, in order, as the trees plus the staged changes have them.
    pub fn keys_with_prefix(&self, tree: T, prefix: &[u8]) -> Result<Vec<Vec<u8>>, WriteError> {
        let mut keys: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
        for key in self.trees.get(tree).scan_prefix(prefix).keys() {
            keys.insert(key.map_err(engine)?.to_vec(), true);
        }
        let t = tree as usize;
        for staged in [&self.batch, &*self.pending.borrow()] {
            let under = staged
                .range((t, prefix.to_vec())..)
                .take_while(|((st, k), _)| *st == t && k.starts_with(prefix));
            for ((_, key), change) in under {
                keys.insert(key.clone(), change.is_some());
            }
        }
        Ok(keys
            .into_iter()
            .filter(|(_, present)| *present)
            .map(|(key, _)| key)
            .collect())
    }

    /// The last key under `prefix`, as the trees plus the staged changes have it.
    pub fn last_key_with_prefix(
        &self,
        tree: T,
        prefix: &[u8],
    ) -> Result<Option<Vec<u8>>, WriteError> {
        let present = |key: &[u8]| !matches!(self.staged(tree, key), Some(None));
        let mut best: Option<Vec<u8>> = None;
        for key in self.trees.get(tree).scan_prefix(prefix).keys().rev() {
            let key = key.map_err(engine)?;
            if present(&key) {
                best = Some(key.to_vec());
                break;
            }
        }
        if self.staged_under(tree, prefix) {
            let t = tree as usize;
            let end = prefix_end(prefix).map_or((t + 1, Vec::new()), |end| (t, end));
            for staged in [&self.batch, &*self.pending.borrow()] {
                let last = staged
                    .range((t, prefix.to_vec())..end.clone())
                    .rev()
                    .map(|((_, key), _)| key)
                    .find(|key| present(key));
                if let Some(key) = last
                    && best.as_ref().is_none_or(|b| key > b)
                {
                    best = Some(key.clone());
                }
            }
        }
        Ok(best)
    }
}
