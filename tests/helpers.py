"""Small shared test helpers (PNG output checks)."""
import pytest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_ok(path, min_size=100):
    """The file is a PNG that matplotlib reads back as an image larger than min_size pixels each way."""
    from matplotlib import image
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    img = image.imread(path)
    assert img.ndim == 3 and img.shape[0] > min_size and img.shape[1] > min_size
    return img


def break_savefig(monkeypatch):
    """Make every matplotlib Figure.savefig write half a PNG and then fail with 'disk full'."""
    from matplotlib.figure import Figure

    def broken_savefig(self, f, **kwargs):
        f.write(PNG_SIGNATURE + b"half a picture")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    return pytest.raises(OSError, match="disk full")
