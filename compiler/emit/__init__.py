"""AdjointIR to module text: the printers per target and style, the
template context, and rendering with Jinja."""
