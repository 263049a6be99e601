"""How therapists' own ratings track their clients': the calibration figures."""
