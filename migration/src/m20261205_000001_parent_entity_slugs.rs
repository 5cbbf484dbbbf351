//! A slug on parent entities, so that an address such as
//! `/p/<parent>/<pool>` names a pool (pools' slugs are unique only within
//! their parent). Existing parents get one from their name, unique.
use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, prelude::Uuid, sea_query::ExprTrait},
};
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::m20261122_000002_parent_entities::ParentEntities;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "uq_parent_entities_slug";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ParentEntities::Table)
                    .add_column(string_len(Slug::Slug, 80).default(""))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let rows = db
            .query_all(
                &Query::select()
                    .columns([ParentEntities::Id, ParentEntities::Name])
                    .from(ParentEntities::Table)
                    .order_by(ParentEntities::Id, Order::Asc)
                    .to_owned(),
            )
            .await?;
        let mut taken = std::collections::HashSet::new();
        for row in rows {
            let id: Uuid = row.try_get("", "id")?;
            let name: String = row.try_get("", "name")?;
            let slug = unique_slug(&name, &mut taken);
            manager
                .exec_stmt(
                    Query::update()
                        .table(ParentEntities::Table)
                        .value(Slug::Slug, slug)
                        .and_where(Expr::col(ParentEntities::Id).eq(id))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(ParentEntities::Table)
                    .col(Slug::Slug)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(ParentEntities::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ParentEntities::Table)
                    .drop_column(Slug::Slug)
                    .to_owned(),
            )
            .await
    }
}

/// The slug rule as it stood when this migration was written (a migration
/// must not change with the application's code): Latin letters and digits,
/// accents stripped, hyphens between; `parent` for names without any; a
/// counter for names already used.
fn unique_slug(name: &str, taken: &mut std::collections::HashSet<String>) -> String {
    let folded: String = name
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = folded.split_whitespace().collect();
    let mut base: String = words.join("-").chars().take(60).collect();
    base = base.trim_end_matches('-').to_owned();
    if base.is_empty() {
        base = "parent".to_owned();
    }
    let mut slug = base.clone();
    let mut n = 1;
    while taken.contains(&slug) {
        n += 1;
        slug = format!("{base}-{n}");
    }
    taken.insert(slug.clone());
    slug
}

#[derive(DeriveIden)]
enum Slug {
    Slug,
}
