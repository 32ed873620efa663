"""Reading filesystems inside an image: ISO 9660/Joliet/Rock Ridge, UDF; inspect and extract."""
