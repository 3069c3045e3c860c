"""Benchmarks behind `loreweaver bench`: each compares the app with a baseline measured in the
same run (raw llama-cpp-python, a no-cache replay, …) and reports ratios."""
