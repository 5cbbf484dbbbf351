//! The parent entity's commons: what it owns and holds for its pools, as
//! the association of co-operatives it is. Its fund has a ledger of its own
//! (`ledger`); money moving between it and a pool is booked on both sides
//! in one transaction.

pub mod ledger;
pub mod periods;
