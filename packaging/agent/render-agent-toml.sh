# Renders /etc/handraise/agent.toml from the debconf answers (db_get sets
# RET). Sourced by the handraise postinst; the xtask tests run it with a fake
# db_get.

# A TOML basic string holding $1 (debconf answers are single lines).
handraise_toml_string() {
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

# `key = "value"` for a non-empty answer to handraise/$1.
handraise_string_key() {
    db_get "handraise/$1"
    if [ -n "$RET" ]; then
        printf '%s = %s\n' "$1" "$(handraise_toml_string "$RET")"
    fi
}

# `key = true|false` for the boolean handraise/$1.
handraise_bool_key() {
    db_get "handraise/$1"
    case "$RET" in
        false) printf '%s = false\n' "$1" ;;
        *) printf '%s = true\n' "$1" ;;
    esac
}

# The whole file on stdout.
handraise_render_agent_toml() {
    printf '%s\n' "# Written by the handraise package from its debconf answers;" \
        "# change them with dpkg-reconfigure handraise (or preseed them)." \
        "# Readable by every account: teachers enroll with the token."
    handraise_string_key server_url
    handraise_string_key enrollment_token
    handraise_string_key school
    handraise_string_key building
    printf '\n[policy]\n'
    handraise_bool_key allow_quit
    handraise_bool_key autostart
    db_get handraise/shortcut
    printf 'shortcut = %s\n' "$(handraise_toml_string "$RET")"
    db_get handraise/hide_facts
    facts=""
    for fact in $(printf '%s' "$RET" | tr ',' ' '); do
        fact=$(printf '%s' "$fact" | tr -cd 'a-z-')
        [ -n "$fact" ] && facts="$facts${facts:+, }\"$fact\""
    done
    printf 'hide_facts = [%s]\n' "$facts"
}
