select
  {{ 1 + 2
from x
