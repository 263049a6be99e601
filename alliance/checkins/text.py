"""The words a client reads on the check-in pages, in each language we ask in.

Our own instrument and our own wording (DESIGN.md, "The alliance check-in"); never the
item wording of PCOMS/SRS or the WAI-SR. Kept as plain data rather than gettext
catalogues because the client's language is a field on the client, not the browser's,
and because the wording of a measure should be reviewed side by side in one place.
"""

DIMENSIONS = ("trust", "empathy", "boundaries", "collaboration")

TEXT = {
    "en": {
        "title": "Your check-in",
        "intro": "Four quick questions about your last session. It takes under a minute.",
        "from": "From",
        "scale_low": "0 = not at all",
        "scale_high": "10 = completely",
        "questions": {
            "trust": "I could trust my therapist in this session.",
            "empathy": "I felt heard and understood.",
            "boundaries": "The session felt safe and respectful of limits.",
            "collaboration": "We worked on what I wanted, in a way that suits me.",
        },
        "comment": "Anything else you would like to say? (optional)",
        "comment_help": "Up to 2,000 characters. Only your therapist will read it (and you, if you ask the clinic for your data).",
        "submit": "Send my answers",
        "expires": "This link works until",
        "errors": "Some answers are missing. Please check the questions marked below.",
        "choose": "Please choose a number from 0 to 10.",
        "comment_too_long": "Please keep your comment to 2,000 characters or fewer.",
        "privacy": "Your answers go only to your clinic.",
        "unsubscribe": "Stop these emails",
        "thanks_title": "Thank you",
        "thanks_body": "Your answers were sent. You can close this page now.",
        "unsubscribe_title": "Stop check-in emails?",
        "unsubscribe_body": (
            "You will no longer get check-in emails from {clinic}. Your therapist will see "
            "that you chose this, and you can ask them to turn the emails back on at any time."
        ),
        "unsubscribe_button": "Yes, stop these emails",
        "unsubscribed_title": "Done",
        "unsubscribed_body": "You will not get any more check-in emails from {clinic}.",
        # Text messages: the clinic's name and the link, nothing else (no clinical words).
        "sms_checkin": "{clinic}: a one-minute check-in is waiting for you: {url} Reply STOP to stop these texts.",
        "sms_reminder": "{clinic}: a reminder, your one-minute check-in is still open: {url} Reply STOP to stop these texts.",
        # In the session: the short code a client types, and the hand-over screen.
        "code_title": "Enter your code",
        "code_intro": "Type the code your therapist shows you.",
        "code_label": "Code",
        "code_submit": "Open my check-in",
        "code_wrong": "That code did not work. Check it, or ask your therapist for a new one.",
        "handover_thanks_body": "Thank you. Please hand the device back.",
    },
    "es": {
        "title": "Su cuestionario",
        "intro": "Cuatro preguntas breves sobre su última sesión. Le llevará menos de un minuto.",
        "from": "De",
        "scale_low": "0 = nada",
        "scale_high": "10 = totalmente",
        "questions": {
            "trust": "Pude confiar en mi terapeuta en esta sesión.",
            "empathy": "Me sentí escuchado/a y comprendido/a.",
            "boundaries": "La sesión fue un espacio seguro que respetó mis límites.",
            "collaboration": "Trabajamos en lo que yo quería, de una manera que me conviene.",
        },
        "comment": "¿Quiere añadir algo más? (opcional)",
        "comment_help": "Hasta 2.000 caracteres. Solo su terapeuta lo leerá (y usted, si pide sus datos a la clínica).",
        "submit": "Enviar mis respuestas",
        "expires": "Este enlace funciona hasta el",
        "errors": "Faltan algunas respuestas. Revise las preguntas marcadas abajo.",
        "choose": "Elija un número del 0 al 10.",
        "comment_too_long": "Su comentario puede tener como máximo 2.000 caracteres.",
        "privacy": "Sus respuestas solo llegan a su centro.",
        "unsubscribe": "No recibir más estos correos",
        "thanks_title": "Gracias",
        "thanks_body": "Sus respuestas se han enviado. Ya puede cerrar esta página.",
        "unsubscribe_title": "¿Dejar de recibir estos correos?",
        "unsubscribe_body": (
            "Ya no recibirá los correos con el cuestionario de {clinic}. Su terapeuta verá que lo ha "
            "elegido, y puede pedirle que los vuelva a activar cuando quiera."
        ),
        "unsubscribe_button": "Sí, no quiero recibir más correos",
        "unsubscribed_title": "Hecho",
        "unsubscribed_body": "No recibirá más correos con el cuestionario de {clinic}.",
        "sms_checkin": "{clinic}: tiene un cuestionario de un minuto: {url} Responda STOP para no recibir más mensajes.",
        "sms_reminder": "{clinic}: le recordamos que su cuestionario de un minuto sigue abierto: {url} Responda STOP para no recibir más mensajes.",
        "code_title": "Introduzca su código",
        "code_intro": "Escriba el código que le muestra su terapeuta.",
        "code_label": "Código",
        "code_submit": "Abrir mi cuestionario",
        "code_wrong": "Ese código no funciona. Revíselo o pida uno nuevo a su terapeuta.",
        "handover_thanks_body": "Gracias. Por favor, devuelva el dispositivo.",
    },
}


def text_for(language):
    return TEXT.get(language) or TEXT["en"]
