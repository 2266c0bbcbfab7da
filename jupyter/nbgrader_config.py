"""nbgrader settings for students (`nbgrader validate` and JupyterLab's Validate button).

Found through JUPYTER_CONFIG_PATH=jupyter (`make lab` and the README's commands set it). Its
presence alone silences nbgrader's "No nbgrader_config.py file found" warning; the kernels it
starts log errors only, so "Success!" is not preceded by ipykernel's notice that a local
kernel talks over TCP without encryption.
"""
c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
c.ValidateApp.log_level = "WARN"  # no "Validating ..." line: the verdict is the whole output
