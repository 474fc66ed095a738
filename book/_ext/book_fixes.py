"""Sphinx fixes for this book (loaded through ``sphinx.local_extensions`` in ``_config.yml``).

- sphinx-thebe registers its inline configuration script (``const THEBE_JS_URL = ...``) once
  on the registry and once on the builder (filename None, then ''), so every page declared the
  constant twice and the browser logged "Identifier 'THEBE_JS_URL' has already been declared"
  (sphinx-togglebutton's inline script came twice too). Identical scripts are kept once per page.
- Figures get their alternative text: ``nas_core.plots.setup`` puts ``alt_text(fig)`` into each
  displayed figure's output metadata (``{"image/png": {"alt": ...}}``), which MyST-NB does not pass
  on (it keeps only width and height there), so the page showed the image's file path instead.
  MyST-NB names an output image by the sha256 of its bytes; that name finds its output's text.
"""
import hashlib
from binascii import a2b_base64
from pathlib import Path


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


def output_alts(notebook: Path) -> dict:
    """sha256 (hex) of each PNG output's bytes -> the alternative text in its output metadata."""
    import nbformat

    alts = {}
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        for out in cell.get("outputs", []):
            png = (out.get("data") or {}).get("image/png")
            alt = ((out.get("metadata") or {}).get("image/png") or {}).get("alt")
            if png and alt:
                alts[hashlib.sha256(a2b_base64(png)).hexdigest()] = str(alt)
    return alts


def _image_alt_text(app, doctree):
    from docutils import nodes

    source = Path(app.env.doc2path(app.env.docname))
    if source.suffix != ".ipynb":
        return
    alts = output_alts(source)
    for image in doctree.findall(nodes.image):
        alt = alts.get(Path(image.get("uri", "")).stem)
        if alt and not image.get("alt"):
            image["alt"] = alt


def setup(app):
    # first of the html-page-context handlers: the event stops at the first one that returns
    # a template name, so a late handler might never run
    app.connect("html-page-context", _dedupe_scripts, priority=1)
    app.connect("doctree-read", _image_alt_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
