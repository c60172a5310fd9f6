"""A walk through the Python API of backprop (docs/api.md): load, solve, display, check.

Run it from the repository root:  python docs/examples/walkthrough.py
docs/examples/walkthrough.ipynb holds the same cells; in Jupyter a solution and a
check report show themselves, the math typeset.
"""

# %% [markdown]
# # backprop from Python
#
# Load a problem file and solve it: every value of the hand calculation, by its key.

# %%
import backprop_cli as bp

problem = bp.load("problems/001b_two_layer_relu_sigmoid.yaml")
solution = bp.solve(problem)
print(solution.title)
print(f"loss {solution.values['loss']:.6f} -> after the update {solution.values['final.loss']:.6f}")

# %% [markdown]
# `values` is read-only and in the order a hand calculation produces them
# (the `values` of `backprop solve --format json`).

# %%
for key in ["z.h1", "a.o", "grad.z.o", "grad.v1", "new.v1"]:
    print(f"{key:9} {solution.values[key]: .6f}")

# %% [markdown]
# In a notebook the last expression of a cell displays itself: the worked solution,
# step by step (docs/api.md says which form a notebook shows). `to_markdown()`,
# `to_html()`, `to_text()` and `to_json()` return the documents
# `backprop solve --format ...` writes.

# %%
solution

# %% [markdown]
# The Markdown document, its math typeset by the notebook:

# %%
try:
    from IPython.display import Markdown
except ImportError:  # a plain script: no notebook to typeset it
    Markdown = str
Markdown(solution.to_markdown())

# %%
markdown = solution.to_markdown(digits=6)
print(markdown.splitlines()[0])
print(solution.to_text(ascii=True).splitlines()[0])

# %% [markdown]
# More steps, and only some keys (globs, as `solve --steps 50 --keys 'final.*'`).

# %%
trained = bp.solve(problem, steps=50, keys=["final.*"])
print(f"after 50 steps: loss {trained.values['final.loss']:.6f}, v1 = {trained.values['final.v1']:.6f}")

# %% [markdown]
# A mistake in a file is a `bp.ProblemError` that says where it is.

# %%
text = """
network:
  inputs: [x]
  layers: [{units: [y], activation: sigmoud, weights: [[0.5]]}]
loss: half_squared_error
learning_rate: 0.1
input: [2]
target: 1
"""
try:
    bp.loads(text, path="typo.yaml")
except bp.ProblemError as error:
    print(error.path, error.line, error.column)
    print(error.message)

# %% [markdown]
# Check the `expected` answers of many files, as `backprop check` does.

# %%
report = bp.check("problems/")
print("all checked:", report.passed)
for checked in report.files[:3]:
    print(f"{checked.file}: {checked.status} ({len(checked.results)} values)")

# %%
report
