"""The assembly register: the filter vocabulary of its listings (``filters``) and a batch's
working list of assemblies snapshotted from it (``working_list``). Compliance lives on the
models' querysets (``models.register``).
"""
