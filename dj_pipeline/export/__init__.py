"""Exports of the analysed library to DJ software."""

from dj_pipeline.export.rekordbox import location_uri, rekordbox_tonality, rekordbox_xml, write_rekordbox_xml

__all__ = ["location_uri", "rekordbox_tonality", "rekordbox_xml", "write_rekordbox_xml"]
