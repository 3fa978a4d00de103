// The command line's help text: every command, its arguments and options.
export const USAGE = `Usage: fastify-simplejwt <command> [options]

Commands:
  createuser USERNAME [--first-name NAME] [--last-name NAME] [--email EMAIL]
             [--staff] [--superuser] [--inactive] [--password-stdin]
                              create a user; the password is prompted for (no echo)
                              or read from standard input with --password-stdin
  changepassword USERNAME [--password-stdin]
                              set a user's password
  setactive USERNAME true|false
                              activate or deactivate a user
  listusers                   list every user
  migrate                     apply pending database migrations
  flushexpiredtokens          delete expired outstanding and blacklisted tokens
  keys generate --algorithm ALG
                              print a new signing key (and its public key, kid and JWK)
  import-django FILE [--on-conflict skip|update] [--dry-run] [--harden]
                              import the users of "manage.py dumpdata auth.user" (FILE,
                              or - for standard input) with their ids and password hashes
  import-django FILE --sync [--delete-absent] [--blacklist BLACKLIST] [--dry-run] [--harden]
                              make the users equal to the dump (the cutover's final step):
                              changed users updated, absent ones deactivated (or deleted),
                              their tokens revoked; with --blacklist, Django's blacklist
                              ("dumpdata token_blacklist") in the same transaction
  import-django-blacklist FILE [--dry-run]
                              blacklist here the unexpired tokens that Django's
                              "manage.py dumpdata token_blacklist" (FILE, or -) lists
  export-django [FILE]        write every user as "manage.py dumpdata auth.user" does, with
                              ids and password hashes, for Django's loaddata (FILE, new,
                              mode 0600; standard output without FILE or with -)
  check-django-token TOKEN|-  check that a token Django minted verifies with the configured
                              key, algorithm, audience, issuer and claim names (- reads it
                              from standard input, out of the shell's history)

changepassword and "setactive USERNAME false" also revoke every token the user holds.

The database and every other setting come from the environment (see README.md).
`
