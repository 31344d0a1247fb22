"""Three-way merges of store files: pure functions of (base, ours, theirs), no I/O.

:mod:`.lines` merges sequences of lines (diff3), :mod:`.fields` decides one field,
:mod:`.record` merges record files field by field, :mod:`.roadmap` merges ROADMAP.md section by
section, and :mod:`.driver` is the git merge driver around them.
"""
