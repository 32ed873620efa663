# dmgbuild settings: dmgbuild -s packaging/macos/dmg_settings.py -D app=dist/DiscVault.app \
#   DiscVault dist/DiscVault-VERSION-macos-ARCH.dmg
# ruff: noqa
import os.path

application = defines.get("app", "dist/DiscVault.app")  # type: ignore[name-defined]
appname = os.path.basename(application)

format = "UDZO"
size = None
files = [application]
symlinks = {"Applications": "/Applications"}
badge_icon = "resources/discvault.icns"
icon_locations = {appname: (140, 120), "Applications": (500, 120)}
window_rect = ((100, 100), (640, 300))
default_view = "icon-view"
icon_size = 96
