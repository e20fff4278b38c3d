#!/usr/bin/env bash
# Renders assets/icon.svg to assets/icon.png (512 x 512, 8-bit RGBA) with
# ImageMagick. The PNG is committed, so a build never needs this; run it after
# editing the SVG and look at the result at 16, 32 and 512 px.
set -euo pipefail
cd "$(dirname "$0")/../assets"
convert -background none -density 96 icon.svg -resize 512x512 -depth 8 -strip \
	-define png:exclude-chunks=date,time PNG32:icon.png
file icon.png
