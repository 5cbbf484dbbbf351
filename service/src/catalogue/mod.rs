//! The catalogues of legal templates and apps: data files under
//! `catalogue/` in the repository, embedded in the binary, parsed and
//! validated at start. A bad file stops the server with its name and fault.

pub mod apps;
mod templates;

use include_dir::{Dir, include_dir};
use serde::de::DeserializeOwned;

pub use apps::{App, AppCategory, AppManifest};
pub use templates::{
    Fact, LegalTemplate, MinShareCapital, Objective, SurplusDistribution, TemplateKind, VotingRule,
};

static CATALOGUE_DIR: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../catalogue");

/// Every legal template and app, in a stable order (by id).
pub struct Catalogue {
    pub templates: Vec<LegalTemplate>,
    pub apps: Vec<App>,
}

impl Catalogue {
    /// Parses and checks the embedded catalogue files.
    pub fn load() -> anyhow::Result<Self> {
        let mut templates: Vec<LegalTemplate> = read_all("legal_templates")?;
        for t in &templates {
            t.check()
                .map_err(|e| anyhow::anyhow!("legal template {}: {e}", t.id))?;
        }
        templates.sort_by(|a, b| a.id.cmp(&b.id));
        let manifests: Vec<AppManifest> = read_all("apps")?;
        let mut apps = manifests
            .into_iter()
            .map(|m| {
                let id = m.id.clone();
                App::new(m).map_err(|e| anyhow::anyhow!("app {id}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        apps.sort_by(|a, b| a.manifest.id.cmp(&b.manifest.id));
        // `node(id)` finds catalogue entries by id alone: an id must name
        // one entry, and never look like the UUIDs of stored objects.
        let mut seen = std::collections::HashSet::new();
        for id in templates
            .iter()
            .map(|t| t.id.as_str())
            .chain(apps.iter().map(|a| a.manifest.id.as_str()))
        {
            anyhow::ensure!(seen.insert(id), "catalogue id {id} is used twice");
            anyhow::ensure!(
                uuid::Uuid::parse_str(id).is_err(),
                "catalogue id {id} looks like a UUID"
            );
        }
        Ok(Self { templates, apps })
    }

    pub fn template(&self, id: &str) -> Option<&LegalTemplate> {
        self.templates.iter().find(|t| t.id == id)
    }

    pub fn app(&self, id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.manifest.id == id)
    }
}

/// Every `*.json` in one folder, each named after the `id` it holds.
fn read_all<T: DeserializeOwned + HasId>(folder: &str) -> anyhow::Result<Vec<T>> {
    let dir = CATALOGUE_DIR
        .get_dir(folder)
        .ok_or_else(|| anyhow::anyhow!("catalogue/{folder} is missing"))?;
    let mut items = Vec::new();
    for file in dir.files() {
        let path = file.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let item: T = serde_json::from_slice(file.contents())
            .map_err(|e| anyhow::anyhow!("catalogue/{}: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if item.id() != stem {
            anyhow::bail!(
                "catalogue/{}: id `{}` must match the file name",
                path.display(),
                item.id()
            );
        }
        items.push(item);
    }
    if items.is_empty() {
        anyhow::bail!("catalogue/{folder} holds no entries");
    }
    Ok(items)
}

trait HasId {
    fn id(&self) -> &str;
}

impl HasId for LegalTemplate {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for AppManifest {
    fn id(&self) -> &str {
        &self.id
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_shipped_catalogue_loads() {
        let c = Catalogue::load().unwrap();
        assert!(
            c.templates.len() >= 20,
            "at least 19 templates plus the pool template"
        );
        let jurisdictions: HashSet<_> = c
            .templates
            .iter()
            .filter_map(|t| t.jurisdiction.as_deref())
            .collect();
        for j in ["GB", "DE", "ES", "FR", "BE", "US", "IT", "PT", "NL", "CA"] {
            assert!(jurisdictions.contains(j), "{j} in {jurisdictions:?}");
        }
        assert!(
            c.templates
                .iter()
                .any(|t| t.kind == TemplateKind::PoolInsideParent)
        );
        assert!(c.apps.len() >= 10);
        let categories: HashSet<_> = c.apps.iter().map(|a| a.manifest.category).collect();
        assert_eq!(categories.len(), 9, "every category has an app");
    }
}
