"""Sphinx fixes for this book (loaded through ``sphinx.local_extensions`` in ``_config.yml``).

- sphinx-thebe registers its inline configuration script (``const THEBE_JS_URL = ...``) once
  on the registry and once on the builder, so every page declared the constant twice and the
  browser logged "Identifier 'THEBE_JS_URL' has already been declared". Identical scripts are
  kept once per page.
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        key = (str(js), repr(getattr(js, "attributes", {})))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
