//! An in-memory RFC 6962 Merkle tree: leaf and node hashes, tree heads and inclusion proofs
//! (RFC 6962 section 2.1, the `PATH` and `MTH` definitions), as Rekor's Trillian backend computes.

use sha2::{Digest as _, Sha256};

/// The leaf hashes of the log, in order.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    leaves: Vec<[u8; 32]>,
}

pub(crate) fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two smaller than `n` (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// `MTH(D)` of a non-empty slice of leaf hashes.
fn root_of(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves {
        [] => Sha256::digest([]).into(),
        [one] => *one,
        _ => {
            let k = split(leaves.len());
            let (left, right) = leaves.split_at(k);
            node_hash(&root_of(left), &root_of(right))
        }
    }
}

/// `PATH(m, D)`: the audit path of leaf `m`, bottom first.
fn path_of(m: usize, leaves: &[[u8; 32]], out: &mut Vec<[u8; 32]>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    let (left, right) = leaves.split_at(k);
    if m < k {
        path_of(m, left, out);
        out.push(root_of(right));
    } else {
        path_of(m - k, right, out);
        out.push(root_of(left));
    }
}

impl Tree {
    /// Appends a leaf; returns its index.
    pub(crate) fn push(&mut self, leaf: [u8; 32]) -> usize {
        self.leaves.push(leaf);
        self.leaves.len() - 1
    }

    pub(crate) fn size(&self) -> usize {
        self.leaves.len()
    }

    pub(crate) fn root(&self) -> [u8; 32] {
        root_of(&self.leaves)
    }

    /// The inclusion proof of leaf `index` in the current tree, or `None` past the end.
    pub(crate) fn proof(&self, index: usize) -> Option<Vec<[u8; 32]>> {
        if index >= self.leaves.len() {
            return None;
        }
        let mut out = Vec::new();
        path_of(index, &self.leaves, &mut out);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// RFC 6962's inclusion proof check (the algorithm of RFC 9162 section 2.1.3.2).
    fn verify(
        index: usize,
        size: usize,
        leaf: [u8; 32],
        proof: &[[u8; 32]],
        root: [u8; 32],
    ) -> bool {
        if index >= size {
            return false;
        }
        let (mut f_n, mut s_n) = (index, size - 1);
        let mut r = leaf;
        for p in proof {
            if s_n == 0 {
                return false;
            }
            if f_n & 1 == 1 || f_n == s_n {
                r = node_hash(p, &r);
                if f_n & 1 == 0 {
                    while f_n & 1 == 0 && f_n != 0 {
                        f_n >>= 1;
                        s_n >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            f_n >>= 1;
            s_n >>= 1;
        }
        s_n == 0 && r == root
    }

    #[test]
    fn every_proof_of_every_tree_size_verifies() {
        let mut tree = Tree::default();
        assert!(tree.proof(0).is_none());
        for n in 0..33u8 {
            tree.push(leaf_hash(&[n]));
            let root = tree.root();
            for i in 0..tree.size() {
                let proof = tree.proof(i).unwrap();
                assert!(
                    verify(i, tree.size(), leaf_hash(&[i as u8]), &proof, root),
                    "{i}/{}",
                    tree.size()
                );
                assert!(!verify(i, tree.size(), leaf_hash(b"other"), &proof, root));
            }
        }
        // RFC 6962 test vector: the root of the empty tree.
        assert_eq!(
            hex::encode(Tree::default().root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
