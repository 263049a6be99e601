"""QR codes as SVG, drawn here (the qrcode library) so no link is ever sent to a
third-party QR service: the second factor's otpauth:// URL (accounts/two_factor.py) and
the in-session check-in link (alliance/checkins/views.py)."""



def qr_svg(data, *, box_size=10, border=4):
    """The QR code of `data` as an SVG document (a string). The library is imported on
    first use: most processes (workers, most pages) never draw one."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=box_size, border=border)
    return image.to_string(encoding="unicode")
