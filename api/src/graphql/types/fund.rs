//! The commons fund's decisions: applications for a grant or a loan, the
//! assembly of pools voting on them, and a loan's repayments.

use async_graphql::Enum;

/// How the parent's assembly of pools counts a pool's vote.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::parent_entity::AssemblyWeighting")]
pub enum AssemblyWeighting {
    /// Every voting pool counts once.
    OnePoolOneVote,
    /// A pool's vote counts as many times as it has active members.
    ByMembers,
}
