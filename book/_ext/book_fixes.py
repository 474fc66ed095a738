"""Sphinx fixes for this book (loaded through ``sphinx.local_extensions`` in ``_config.yml``).

- sphinx-thebe registers its inline configuration script (``const THEBE_JS_URL = ...``) once
  on the registry and once on the builder (filename None, then ''), so every page declared the
  constant twice and the browser logged "Identifier 'THEBE_JS_URL' has already been declared"
  (sphinx-togglebutton's inline script came twice too). Identical scripts are kept once per page.
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        # the same inline script comes once with filename None and once with '' (registry, builder)
        attrs = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    scripts[:] = kept


def setup(app):
    # first of the html-page-context handlers: the event stops at the first one that returns
    # a template name, so a late handler might never run
    app.connect("html-page-context", _dedupe_scripts, priority=1)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
