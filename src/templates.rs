//! Mail text from templates (minijinja). A template renders to a subject line, a blank
//! line and the body. `templates/lists/<list id>/<lang>/<name>.txt` overrides
//! `templates/<lang>/<name>.txt` for one list.

use minijinja::{Environment, ErrorKind, Value};
use std::path::Path;

/// A template failed to load or render.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// Neither the list's nor the default template exists.
    #[error("no template {0}")]
    Missing(String),
    /// The template has a syntax error or failed while rendering.
    #[error("template {name}: {source}")]
    Render {
        /// Which template.
        name: String,
        /// The engine's error.
        source: minijinja::Error,
    },
    /// The output lacks the `Subject:` first line.
    #[error("template {0} must begin with a `Subject:` line followed by a blank line")]
    Shape(String),
}

/// Rendered mail text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// The template set of a site.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Templates read from `dir` on demand.
    pub fn new(dir: &Path) -> Templates {
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(dir));
        env.set_keep_trailing_newline(true);
        Templates { env }
    }

    /// Render `name` in `lang` for a list, preferring the list's own template: a mail's
    /// subject and body.
    pub fn render(
        &self,
        list_id: &str,
        lang: &str,
        name: &str,
        ctx: Value,
    ) -> Result<Rendered, TemplateError> {
        let (path, text) = self.render_file(list_id, lang, name, ctx)?;
        let (first, body) = text
            .split_once("\n\n")
            .ok_or_else(|| TemplateError::Shape(path.clone()))?;
        let subject = first
            .strip_prefix("Subject:")
            .ok_or_else(|| TemplateError::Shape(path.clone()))?
            .trim()
            .to_string();
        Ok(Rendered {
            subject,
            body: body.to_string(),
        })
    }

    /// Render `name` in `lang` for a list as plain text (no subject line): a part of a
    /// message, such as the footer of list copies.
    pub fn render_text(
        &self,
        list_id: &str,
        lang: &str,
        name: &str,
        ctx: Value,
    ) -> Result<String, TemplateError> {
        Ok(self.render_file(list_id, lang, name, ctx)?.1)
    }

    /// The template file chosen for `name` and its output, with LF line ends.
    fn render_file(
        &self,
        list_id: &str,
        lang: &str,
        name: &str,
        ctx: Value,
    ) -> Result<(String, String), TemplateError> {
        let own = format!("lists/{list_id}/{lang}/{name}.txt");
        let shared = format!("{lang}/{name}.txt");
        let mut chosen = None;
        for candidate in [&own, &shared] {
            match self.env.get_template(candidate) {
                Ok(t) => {
                    chosen = Some((candidate, t));
                    break;
                }
                Err(e) if e.kind() == ErrorKind::TemplateNotFound => continue,
                Err(source) => {
                    return Err(TemplateError::Render {
                        name: candidate.clone(),
                        source,
                    });
                }
            }
        }
        let (path, template) = chosen.ok_or_else(|| TemplateError::Missing(shared.clone()))?;
        let text = template
            .render(ctx)
            .map_err(|source| TemplateError::Render {
                name: path.clone(),
                source,
            })?;
        Ok((path.clone(), text.replace("\r\n", "\n")))
    }
}
