"""The baseline of the HTTP benchmark (benchmarks/http.py): the smallest Flask app, served by the same
gunicorn settings and driven by the same load generator as Konsekvens, so the ratio shows what our
application costs on top of Flask and the server themselves."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
