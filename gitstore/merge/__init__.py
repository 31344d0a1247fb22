"""Three-way merges of store files: pure functions of (base, ours, theirs), no I/O.

:mod:`.lines` merges sequences of lines (diff3) and :mod:`.order` sequences of unique items;
:mod:`.tree` cuts a record into entries (comments attached, nested mappings), :mod:`.values`
reads and writes the values a field merge needs, :mod:`.fields` decides one entry, and
:mod:`.record` merges record files; :mod:`.roadmap` merges ROADMAP.md section by section, and
:mod:`.driver` is the git merge driver around them.
"""
