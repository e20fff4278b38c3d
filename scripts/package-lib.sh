# Sourced by the packaging scripts (scripts/package*.sh, scripts/smoke-package.sh).
# shellcheck shell=bash

# fyneapp_detail prints KEY's string value from FyneApp.toml in directory DIR
# (Name, ID, Version, ...), the one place the app's name and ID are written.
fyneapp_detail() {
	local dir=$1 key=$2 value
	value=$(sed -n "s/^[[:space:]]*$key[[:space:]]*=[[:space:]]*\"\\(.*\\)\"[[:space:]]*\$/\\1/p" "$dir/FyneApp.toml" | head -n 1)
	if [ -z "$value" ]; then
		echo "no $key in $dir/FyneApp.toml" >&2
		return 1
	fi
	printf '%s\n' "$value"
}
