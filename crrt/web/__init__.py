"""Server-rendered pages for people: Jinja2 templates, CSS and JS written here, no CDN."""
