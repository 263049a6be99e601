"""Turn the form a page rendered into POST data, the way a browser would submit it
unchanged; tests then change only the fields they care about."""

from datetime import date, datetime, time


def _value(value):
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if hasattr(value, "pk"):
        return value.pk
    return "" if value is None else value


def form_data(response, form_key="form"):
    form = response.context[form_key]
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if callable(value):
            value = value()
        value = _value(value)
        if value == "" and isinstance(value, str) and field.__class__.__name__ == "BooleanField":
            continue
        data[form.add_prefix(name)] = value
    return {k: v for k, v in data.items() if v != "" or True}
