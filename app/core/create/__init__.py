"""Making an image from a folder (the Create page and `discvault build`)."""
