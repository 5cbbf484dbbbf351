//! Small builders the migrations share.
use sea_orm_migration::prelude::*;

pub fn fk<
    T: IntoIden + 'static,
    C: IntoIden + 'static,
    U: IntoIden + 'static,
    D: IntoIden + 'static,
>(
    name: &str,
    table: T,
    column: C,
    to_table: U,
    to_column: D,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(to_table, to_column)
        .to_owned()
}

/// A plain index over `columns`.
pub async fn index<T: IntoIden + Copy + 'static, C: IntoIden + Copy + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: &[C],
) -> Result<(), DbErr> {
    manager.create_index(build(name, table, columns)).await
}

/// A unique index over `columns`.
pub async fn unique<T: IntoIden + Copy + 'static, C: IntoIden + Copy + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: &[C],
) -> Result<(), DbErr> {
    manager
        .create_index(build(name, table, columns).unique().to_owned())
        .await
}

fn build<T: IntoIden + Copy + 'static, C: IntoIden + Copy + 'static>(
    name: &str,
    table: T,
    columns: &[C],
) -> IndexCreateStatement {
    let mut stmt = Index::create().name(name).table(table).to_owned();
    for c in columns {
        stmt.col(*c);
    }
    stmt
}
