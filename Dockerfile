# The oppbus image: one console script, `oppbus` (worker | api | up | demo | bench ...).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY streams ./streams
COPY connectors ./connectors
COPY ops ./ops
RUN pip install . && useradd --system --uid 10001 oppbus
USER oppbus
EXPOSE 8080 6066
ENTRYPOINT ["oppbus"]
CMD ["api"]
