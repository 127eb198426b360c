set -e
# a file whose inode changes while tar reads it (a hard link made to it or dropped, as staging the next release
# does) makes GNU tar exit 1 with "file changed as we read it"; the files are checked against the manifest's digest
# once unpacked, so only a worse failure (2) counts
cut -c"$PATH_COLUMN"- "$2" | tr '\n' '\0' | {
  tar -C "$1" --null -T - -czf - --warning=no-file-changed || [ $? -eq 1 ]
}
