//! A page of members joined with their accounts, decoded by position.
//!
//! sea-orm's `select_also` names every column of both tables with a prefix
//! (`A_id`, `B_email`, …) and finds each by that name in every row: a
//! string built and looked up per column per row, a good part of a members
//! page's cost. Here the columns are selected in the models' own order and
//! read by index; the tests pin that order, so a column added to either
//! model fails them until it is read here too.

use entities::{membership, user};
use sea_orm::{
    DbErr, FromQueryResult, Iterable, JoinType, QueryResult, QuerySelect, RelationTrait, Select,
};
use uuid::Uuid;

/// Membership columns come first, then the account's.
const ACCOUNT_AT: usize = 18;

/// One membership and, when the person has one, their account.
pub struct MemberRow(pub membership::Model, pub Option<user::Model>);

/// `select` (memberships) joined with the accounts, every column of both in
/// model order.
pub fn joined(select: Select<membership::Entity>) -> Select<membership::Entity> {
    let mut select = select
        .select_only()
        .columns(membership::Column::iter())
        .join(JoinType::LeftJoin, membership::Relation::User.def());
    for (i, column) in user::Column::iter().enumerate() {
        // Aliased: the two tables share column names.
        select = select.column_as(column, format!("account_{i}"));
    }
    select
}

impl FromQueryResult for MemberRow {
    fn from_query_result(res: &QueryResult, _prefix: &str) -> Result<Self, DbErr> {
        let member = membership::Model {
            id: res.try_get_by_index(0)?,
            pool_id: res.try_get_by_index(1)?,
            user_id: res.try_get_by_index(2)?,
            email: res.try_get_by_index(3)?,
            display_name: res.try_get_by_index(4)?,
            stakeholder_group_id: res.try_get_by_index(5)?,
            role: res.try_get_by_index(6)?,
            status: res.try_get_by_index(7)?,
            joined_via: res.try_get_by_index(8)?,
            joined_at: res.try_get_by_index(9)?,
            left_at: res.try_get_by_index(10)?,
            created_at: res.try_get_by_index(11)?,
            updated_at: res.try_get_by_index(12)?,
            shares_held: res.try_get_by_index(13)?,
            end_reason: res.try_get_by_index(14)?,
            ended_by: res.try_get_by_index(15)?,
            conduct_version: res.try_get_by_index(16)?,
            conduct_accepted_at: res.try_get_by_index(17)?,
        };
        let a = ACCOUNT_AT;
        let account_id: Option<Uuid> = res.try_get_by_index(a)?;
        let account = match account_id {
            None => None,
            Some(id) => Some(user::Model {
                id,
                email: res.try_get_by_index(a + 1)?,
                display_name: res.try_get_by_index(a + 2)?,
                password_hash: res.try_get_by_index(a + 3)?,
                created_at: res.try_get_by_index(a + 4)?,
                updated_at: res.try_get_by_index(a + 5)?,
                email_confirmed_at: res.try_get_by_index(a + 6)?,
                locale: res.try_get_by_index(a + 7)?,
                deleted_at: res.try_get_by_index(a + 8)?,
            }),
        };
        Ok(Self(member, account))
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{IdenStatic, Iterable};

    use super::*;

    /// The order [`MemberRow`] reads the columns in.
    #[test]
    fn the_columns_are_where_they_are_read() {
        let membership: Vec<_> = membership::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(
            membership,
            [
                "id",
                "pool_id",
                "user_id",
                "email",
                "display_name",
                "stakeholder_group_id",
                "role",
                "status",
                "joined_via",
                "joined_at",
                "left_at",
                "created_at",
                "updated_at",
                "shares_held",
                "end_reason",
                "ended_by",
                "conduct_version",
                "conduct_accepted_at",
            ]
        );
        assert_eq!(membership.len(), ACCOUNT_AT);
        let account: Vec<_> = user::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(
            account,
            [
                "id",
                "email",
                "display_name",
                "password_hash",
                "created_at",
                "updated_at",
                "email_confirmed_at",
                "locale",
                "deleted_at",
            ]
        );
    }
}
