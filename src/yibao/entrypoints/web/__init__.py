"""The web pages: server-rendered Jinja2 templates with htmx, on the API's services and gate."""
